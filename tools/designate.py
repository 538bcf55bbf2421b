#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tools/designate.py - the op, verb and action tables (struct tr_api_op,
struct cli_verb, struct tr_action) use designated initializers, as the
SDK's own tables do (issue 15), so that a new field or a reordering can
never shift a value into the wrong member.

  tools/designate.py FILE...          rewrite positional entries in place
  tools/designate.py --check FILE...  list them (exit 1 when there are)

The field order below is each struct's declaration order
(core/api/api.h, core/cli/cli.h, core/actions/action.h); NULL and 0
members are left out, as C zeroes them.  Run clang-format on the changed
lines afterwards (see tests/unit/house/designated.t)."""
import re, sys

TABLES = {
    'struct tr_api_op': ['name', 'description', 'args', 'handler', 'flags', 'perm'],
    'struct cli_verb': ['name', 'summary', 'op', 'positional', 'pos_metavar',
                        'opts', 'cols', 'list_key', 'run'],
    'struct tr_action': ['name', 'description', 'input', 'output', 'run',
                         'undo', 'flags'],
}

def scan_group(s, i):
    """s[i] == '{': index after the matching '}' (strings, chars, comments)."""
    depth = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == '"' or c == "'":
            q = c; i += 1
            while s[i] != q:
                i += 2 if s[i] == '\\' else 1
        elif s.startswith('/*', i):
            i = s.index('*/', i) + 1
        elif s.startswith('//', i):
            i = s.index('\n', i)
        elif c in '{(':
            depth += 1
        elif c in '})':
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError('unbalanced')

def split_top(body):
    parts, depth, cur, i = [], 0, [], 0
    while i < len(body):
        c = body[i]
        if c == '"' or c == "'":
            q = c; j = i + 1
            while body[j] != q:
                j += 2 if body[j] == '\\' else 1
            cur.append(body[i:j + 1]); i = j + 1; continue
        if body.startswith('/*', i):
            j = body.index('*/', i) + 2
            cur.append(body[i:j]); i = j; continue
        if c in '{([':
            depth += 1
        elif c in '})]':
            depth -= 1
        if c == ',' and depth == 0:
            parts.append(''.join(cur)); cur = []
        else:
            cur.append(c)
        i += 1
    if ''.join(cur).strip():
        parts.append(''.join(cur))
    return [p.strip() for p in parts]

def norm(v, indent):
    # re-indent continuation lines of a value (string concatenations)
    lines = [l.strip() for l in v.split('\n')]
    return ('\n' + ' ' * indent).join(l for l in lines if l)

def convert_elem(elem, fields, lead_ws):
    inner = elem[1:-1]
    vals = split_top(inner)
    if not vals or vals[0].startswith('.'):
        return None  # already designated or empty
    if vals[0] == 'NULL' or vals[0] == '0':
        return None  # terminator
    if len(vals) > len(fields):
        raise ValueError('too many values: %r' % elem[:60])
    out = []
    for f, v in zip(fields, vals):
        if v in ('NULL', '0') and f not in ('flags', 'perm'):
            continue
        lead = '.%s = ' % f
        lines = [l.strip() for l in v.split('\n') if l.strip()]
        out.append(lead + ('\n' + lead_ws + ' ' + ' ' * len(lead)).join(lines))
    return '{' + (',\n' + lead_ws + ' ').join(out) + '}'

def convert(text):
    changed = 0
    for ty, fields in TABLES.items():
        pos = 0
        pat = re.compile(r'const\s+' + re.escape(ty) + r'\s+\w+\[\w*\]\s*=\s*\{')
        while True:
            m = pat.search(text, pos)
            if not m:
                break
            start = m.end() - 1
            end = scan_group(text, start)
            body = text[start + 1:end - 1]
            # elements
            newbody = []
            j = 0
            while j < len(body):
                if body[j] == '{':
                    k = scan_group(body, j)
                    elem = body[j:k]
                    # indentation: column of '{' on its line
                    ls = body.rfind('\n', 0, j) + 1
                    lead = body[ls:j]
                    if lead.strip():
                        lead = re.match(r'\s*', lead).group(0)
                    c = convert_elem(elem, fields, lead)
                    newbody.append(c if c else elem)
                    if c:
                        changed += 1
                    j = k
                else:
                    newbody.append(body[j]); j += 1
            text = text[:start + 1] + ''.join(newbody) + text[end - 1:]
            pos = start + 1
    return text, changed

def main(argv):
    check = argv[:1] == ['--check']
    files = argv[1:] if check else argv
    found = 0
    for f in files:
        t = open(f).read()
        n, c = convert(t)
        if c and check:
            print('%s: %d positional entries' % (f, c))
        elif c:
            open(f, 'w').write(n)
            print('%s: %d entries' % (f, c))
        found += c
    return 1 if check and found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
