#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Builds one man page: expands the directives of a page source
(docs/man/NAME.SECTION.md, pandoc Markdown) from the programs' own output
and from docs/*.md, then runs pandoc to roff.

    mkman.py PAGE.md OUT --bin BUILD/bin --version V [--markdown-only]

Directives, each alone on a line:
  @HELP_OPTIONS PROGRAM@   the options of PROGRAM --help, as a list
  @CLI_COMMANDS@           every noun and verb of `trellis`, with each
                           verb's usage and options, from --help
  @INCLUDE FILE[#SECTION]@ a doc (or one of its ## sections) from the
                           source tree; its headings move up one level
  @DEFAULTS_KEYS@          every key of `trellisd --print-defaults`, its
                           default and its comment

The page lists what the programs print, so it cannot drift from them;
tests/man checks it does not.
"""
import argparse
import os
import re
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FILTER = os.path.join(SRC, 'docs', 'man', 'man.lua')


def run(argv):
    env = dict(os.environ, COLUMNS='80', LC_ALL='C')
    env.pop('TRELLIS_SOCKET', None)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=env, check=False)
    if p.returncode != 0 or not p.stdout.strip():
        sys.exit('mkman: %s failed (%d): %s' % (' '.join(argv), p.returncode,
                                                p.stderr.strip()))
    return p.stdout


def esc(s):
    """Markdown-escapes text taken from a program's output."""
    return re.sub(r'([\\`*_\[\]<>#|~^$])', r'\\\1', s)


# ---- --help parsing --------------------------------------------------------

def _split_item(body, col):
    """(term, desc) of a list line without its indentation; col is where
    the descriptions of the list start (for one-space separations)."""
    if not body.startswith('-'):           # a noun or a verb: one word
        parts = body.split(None, 1)
        return parts[0], parts[1] if len(parts) > 1 else ''
    m = re.match(r'(\S.*?)(?:\s{2,}(.*))?$', body)
    term, desc = m.group(1), m.group(2) or ''
    # One space before the description where the term is long ("--allow-
    # unavailable accept ..."), never before a lone metavar ("--x FILE").
    if (not desc and col and len(body) > col and body[col - 1] == ' '
            and ' ' in body[col:].strip()):
        term, desc = body[:col].strip(), body[col:].strip()
    return term, desc


def parse_help(text):
    """Blocks of a --help text: ('usage', s), ('para', s) and
    ('list', title, [(term, desc)])."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.startswith('Usage:'):
            blocks.append(('usage', line[len('Usage:'):].strip()))
            i += 1
            continue
        if (re.match(r'^\S.*:$', line) and i + 1 < len(lines)
                and lines[i + 1].startswith(' ')):
            title, items, i = line[:-1], [], i + 1
            raw = []
            while i < len(lines) and lines[i].startswith(' '):
                raw.append(lines[i])
                i += 1
            cols = [len(r) - len(m.group(2)) for r in raw
                    for m in [re.match(r'^(\s*\S.*?\s{2,})(\S.*)$', r)] if m]
            col = max(set(cols), key=cols.count) if cols else 0
            for r in raw:
                ind = len(r) - len(r.lstrip())
                body = r.strip()
                if ind <= 6 and (body.startswith('-') or ind == 2):
                    items.append(list(_split_item(r[ind:], col - ind)))
                elif items:
                    items[-1][1] = (items[-1][1] + ' ' + body).strip()
            blocks.append(('list', title, [tuple(x) for x in items]))
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not (
                re.match(r'^\S.*:$', lines[i])):
            para.append(lines[i].strip())
            i += 1
        blocks.append(('para', ' '.join(para)))
    return blocks


def lists(blocks, prefix):
    return [b for b in blocks if b[0] == 'list' and b[1].startswith(prefix)]


def deflist(items, indent=''):
    out = []
    for term, desc in items:
        out.append('%s**%s**' % (indent, esc(term)))
        out.append('%s:   %s' % (indent, esc(desc) if desc else '\u00a0'))
        out.append('')
    return out


def help_options(prog):
    blocks = parse_help(run([prog, '--help']))
    out = []
    for b in lists(blocks, 'Options'):
        out += deflist(b[2])
    if not out:
        sys.exit('mkman: %s --help lists no options' % prog)
    return out


def usage_line(usage):
    """`trellis vm list [--host HOST]` -> bold command words, the rest
    roman."""
    words = usage.split()
    n = 0
    while n < len(words) and re.match(r'^[a-z][a-z0-9-]*$', words[n]):
        n += 1
    head = ' '.join(words[:n])
    rest = ' '.join(words[n:])
    return '**%s**%s' % (esc(head), (' ' + esc(rest)) if rest else '')


def command(blocks, desc, usage):
    """One command's entry: its usage line, what it does and its lists
    (Options...), from its --help blocks."""
    usages = [b[1] for b in blocks if b[0] == 'usage']
    out = [usage_line(usages[0] if usages else usage)]
    body = [esc(b[1]) for b in blocks if b[0] == 'para' and not b[1].startswith(
        ('Global options:', 'Run '))] or [esc(desc)]
    out.append(':   ' + body[0])
    for p in body[1:]:
        out += ['', '    ' + p]
    for b in lists(blocks, ''):
        out += ['', '    %s' % esc(b[1] + ':'), '']
        out += deflist(b[2], '    ')
    out.append('')
    return out


def cli_commands(trellis):
    top = parse_help(run([trellis, '--help']))
    nouns = lists(top, 'Nouns')
    if not nouns:
        sys.exit('mkman: trellis --help lists no nouns')
    out = []
    for noun, ndesc in nouns[0][2]:
        nb = parse_help(run([trellis, noun, '--help']))
        out += ['## %s' % esc(noun), '', esc(ndesc.rstrip('.')) + '.', '']
        verbs = lists(nb, 'Verbs')
        if not verbs:                       # a noun that is a command itself
            out += command(nb, ndesc, 'trellis ' + noun)
            continue
        for verb, vdesc in verbs[0][2]:
            vb = parse_help(run([trellis, noun, verb, '--help']))
            out += command(vb, vdesc, 'trellis %s %s' % (noun, verb))
    return out


# ---- docs and defaults -----------------------------------------------------

def include(spec):
    path, _, section = spec.partition('#')
    with open(os.path.join(SRC, path)) as f:
        text = f.read()
    lines = text.splitlines()
    if section:
        start = None
        for i, l in enumerate(lines):
            m = re.match(r'^(#+)\s+(.*)$', l)
            if m and start is None and slug(m.group(2)) == section:
                start, level = i + 1, len(m.group(1))
            elif m and start is not None and len(m.group(1)) <= level:
                lines = lines[start:i]
                break
        else:
            if start is None:
                sys.exit('mkman: no section #%s in %s' % (section, path))
            lines = lines[start:]
        shift = level - 1
    else:
        # The page's own title goes; its ## sections become sections.
        if lines and lines[0].startswith('# '):
            lines = lines[1:]
        shift = 1
    out, fence = [], False
    for l in lines:
        if l.startswith('```'):
            fence = not fence
        m = None if fence else re.match(r'^(#+)(\s+.*)$', l)
        if m:
            l = '#' * max(1, len(m.group(1)) - shift) + m.group(2)
        out.append(l)
    return out


def slug(title):
    return re.sub(r'[^a-z0-9 -]', '', title.lower()).strip().replace(' ', '-')


def defaults_keys(trellisd):
    out, path = [], []
    for line in run([trellisd, '--print-defaults']).splitlines():
        m = re.match(r'^( *)([A-Za-z_][\w-]*):\s*(.*?)\s*(?:#\s*(.*))?$',
                     line)
        if not m:
            continue
        depth = len(m.group(1)) // 2
        path = path[:depth] + [m.group(2)]
        value, comment = m.group(3), m.group(4) or ''
        if value == '':
            continue                        # a section: its keys follow
        out.append('**%s** (default: `%s`)' % (esc('.'.join(path)), value))
        if comment:
            out.append(':   %s' % esc(comment))
        out.append('')
    return out


def expand(text, args):
    bindir = args.bin
    out = []
    for line in text.splitlines():
        m = re.match(r'^@([A-Z_]+)(?:\s+(\S+))?@$', line.strip())
        if not m:
            out.append(line.replace('@VERSION@', args.version))
            continue
        what, arg = m.group(1), m.group(2)
        if what == 'HELP_OPTIONS':
            out += help_options(os.path.join(bindir, arg))
        elif what == 'CLI_COMMANDS':
            out += cli_commands(os.path.join(bindir, 'trellis'))
        elif what == 'INCLUDE':
            out += include(arg)
        elif what == 'DEFAULTS_KEYS':
            out += defaults_keys(os.path.join(bindir, 'trellisd'))
        else:
            sys.exit('mkman: unknown directive @%s@' % what)
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('page')
    ap.add_argument('out')
    ap.add_argument('--bin', required=True)
    ap.add_argument('--version', required=True)
    ap.add_argument('--markdown-only', action='store_true')
    args = ap.parse_args()
    with open(args.page) as f:
        md = expand(f.read(), args)
    if args.markdown_only:
        with open(args.out, 'w') as f:
            f.write(md)
        return
    p = subprocess.run(['pandoc', '--standalone',
                        '--from', 'markdown-smart-citations-implicit_figures',
                        '--to', 'man', '--lua-filter', FILTER,
                        '--output', args.out],
                       input=md, text=True, check=False)
    if p.returncode != 0:
        sys.exit('mkman: pandoc failed for %s' % args.page)


if __name__ == '__main__':
    main()
