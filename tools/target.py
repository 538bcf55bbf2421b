#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tools/target.py - the dispatch wrappers of targets take one
`struct tr_target *` instead of the plugin/handle/lock triple that the
TR_TGT() macro used to spread (issue 15).  A scripted change, kept for
branches still in flight:

  tools/target.py FILE...          rewrite in place
  tools/target.py --check FILE...  list what it would change (exit 1 then)

In core/dispatch (dispatch.h and the wrappers) a parameter list that
starts `struct trellis_plugin *p, void *H, pthread_mutex_t *lock` becomes
`struct tr_target *t`, and a wrapper's body opens with
TR_DISPATCH_TARGET(t, H), which names p, H and lock as before, so the
bodies stay as they were.  Everywhere else a call's `TR_TGT(expr)`
becomes `expr`: the opening parenthesis does not move, so the arguments
on the lines below keep their alignment."""
import re, sys

TRIPLE = re.compile(r'(\btr_\w+\()struct trellis_plugin \*p,\s*void \*(\w+),'
                    r'\s*pthread_mutex_t \*lock(,\s*|\))')


def scan_parens(s, i):
    """s[i] == '(': the index after the matching ')'."""
    depth = 0
    while i < len(s):
        if s[i] == '(':
            depth += 1
        elif s[i] == ')':
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError('unbalanced parentheses')


def rewrite_wrappers(s):
    """Signatures (and, in .c files, bodies) of the wrappers."""
    out, pos = [], 0
    for m in TRIPLE.finditer(s):
        out.append(s[pos:m.start()])
        tail = m.group(3)
        out.append(m.group(1) + 'struct tr_target *t' +
                   (', ' if tail.startswith(',') else ')'))
        pos = m.end()
        # A definition: the parameter list ends in ")\n{"; open the body.
        close = scan_parens(s, m.start() + len(m.group(1)) - 1) if \
            tail.startswith(',') else m.end()
        if s.startswith('\n{\n', close):
            out.append(s[pos:close] + '\n{\n\tTR_DISPATCH_TARGET(t, %s);\n'
                       % m.group(2))
            pos = close + 3
    out.append(s[pos:])
    return ''.join(out)


def rewrite_calls(s):
    out, pos = [], 0
    for m in re.finditer(r'\bTR_TGT\(', s):
        if m.start() < pos:
            continue
        end = scan_parens(s, m.end() - 1)
        out.append(s[pos:m.start()])
        out.append(s[m.end():end - 1])
        pos = end
    out.append(s[pos:])
    return ''.join(out)


def rewrite(path, s):
    if '/core/dispatch/' in '/' + path:
        s = rewrite_wrappers(s)
    # The macro's own definition is removed by hand (dispatch.h).
    lines = s.split('\n')
    keep = [k for k, l in enumerate(lines) if l.startswith('#define TR_TGT')]
    body = rewrite_calls('\n'.join(l for k, l in enumerate(lines)
                                   if k not in keep))
    if keep:
        b = body.split('\n')
        for k in keep:
            b.insert(k, lines[k])
        body = '\n'.join(b)
    return body


def main(argv):
    check = argv[:1] == ['--check']
    files = argv[1:] if check else argv
    changed = []
    for path in files:
        with open(path) as f:
            s = f.read()
        n = rewrite(path, s)
        if n != s:
            changed.append(path)
            if not check:
                with open(path, 'w') as f:
                    f.write(n)
    for path in changed:
        print(path)
    return 1 if check and changed else 0


sys.exit(main(sys.argv[1:]))
