#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
"""tests/man/drift.t - the man pages list what the programs print.

Every noun, verb and option that `trellis --help`, `trellis NOUN --help` and
`trellis NOUN VERB --help` print appears in trellis(1), each option under its
own verb, and the page lists no verb the CLI does not have.  Likewise the
options of `trellisd --help` in trellisd(8), those of
`trellis-plugin-check --help` in trellis-plugin-check(1), and every key of
`trellisd --print-defaults` in trellisd.yaml(5).  The pages are read as
man(1) renders them (BUILD/man, made by docs/man/mkman.py at build time);
the --help texts are parsed here on their own, not with mkman.py's parser,
so a fault in one is not hidden by the other.
"""
import os
import re
import subprocess
import sys

BUILD = os.environ.get('TRELLIS_BUILD', 'build')
BIN = os.path.join(BUILD, 'bin')
MAN = os.path.join(BUILD, 'man')
n = failed = 0


def report(good, what, detail=''):
    global n, failed
    n += 1
    print('%s %d - %s' % ('ok' if good else 'not ok', n, what))
    if not good:
        failed += 1
        for line in str(detail).splitlines()[:30]:
            print('#   ' + line)


def out(*argv):
    env = dict(os.environ, LC_ALL='C', COLUMNS='80')
    return subprocess.run(argv, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          env=env).stdout


def render(page):
    """The page as man(1) shows it, on lines wide enough not to wrap."""
    env = dict(os.environ, LC_ALL='C', MANWIDTH='400', MAN_KEEP_FORMATTING='')
    p = subprocess.run(['man', '-l', os.path.join(MAN, page)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=env)
    return re.sub(r'.\x08', '', p.stdout)


def block(text, title):
    """The lines under 'TITLE:' (Nouns:, Verbs:, Options...:) up to the next
    blank line."""
    lines, found, got = text.splitlines(), False, []
    for line in lines:
        if not found:
            found = line.startswith(title)
            continue
        if not line.strip():
            break
        got.append(line)
    return got


def options(help_text):
    """The option names of a --help: -x and --long at the head of each line
    of its Options block."""
    names = []
    for line in block(help_text, 'Options'):
        m = re.match(r'^\s{1,8}(-\w)?(?:,\s*)?(--[\w-]+)?', line)
        if m and (m.group(1) or m.group(2)):
            names += [x for x in m.groups() if x]
    return names


def section(page_text, name):
    """The text of a top-level section (NAME at column 0) of a rendered
    page."""
    m = re.search(r'^%s\n(.*?)(?=^[A-Z][A-Z .-]*\n|\Z)' % re.escape(name),
                  page_text, re.S | re.M)
    return m.group(1) if m else ''


def mentions(text, opt):
    return re.search(r'(?<![\w-])%s(?![\w-])' % re.escape(opt), text)


for page in ('trellis.1', 'trellisd.8', 'trellis-plugin-check.1',
             'trellisd.yaml.5', 'trellis-workflow.5'):
    report(os.path.isfile(os.path.join(MAN, page)), 'BUILD/man/%s was built'
           % page)
if failed:
    print('1..%d' % n)
    sys.exit(1)

# ---- trellis(1) -------------------------------------------------------------
trellis = os.path.join(BIN, 'trellis')
top = out(trellis, '--help')
page = render('trellis.1')
glob_opts = options(top)
report(len(glob_opts) >= 6, 'trellis --help lists global options',
       glob_opts)
opts_sec = section(page, 'OPTIONS')
missing = [o for o in glob_opts if not mentions(opts_sec, o)]
report(not missing, 'trellis(1) OPTIONS has every global option', missing)

nouns = [l.split()[0] for l in block(top, 'Nouns') if re.match(r'^  \S', l)]
report(len(nouns) >= 10, 'trellis --help lists the nouns (%d)' % len(nouns))
cmds = section(page, 'COMMANDS')
# The page's entries: "trellis NOUN VERB ..." (or "trellis NOUN ..." for a
# noun without verbs) at the head of a line.
ENTRY = r'^\s{7}trellis ([a-z][\w-]*)(?: ([a-z][\w-]*))?(?![\w-])'
entries = {}
cur = None
for line in cmds.splitlines():
    m = re.match(ENTRY, line)
    if m:
        cur = (m.group(1), m.group(2))
        entries[cur] = line + '\n'
    elif cur:
        entries[cur] += line + '\n'
page_nouns = re.findall(r'^\s{3}(\S+)\s*$', cmds, re.M)


def check_command(key, help_text):
    """The page's entry for key has the usage and every option of
    help_text."""
    what = ' '.join(k for k in key if k)
    entry = entries.get(key)
    if entry is None:
        report(False, 'trellis(1) has "trellis %s"' % what)
        return
    opts = options(help_text)
    usage = re.search(r'^Usage: (.*)$', help_text, re.M)
    missing = [o for o in opts if not mentions(entry, o)]
    flat = ' '.join(entry.split())
    same_usage = usage and ' '.join(usage.group(1).split()) in flat
    report(not missing and same_usage,
           'trellis(1): %s, its usage and its %d options' % (what, len(opts)),
           'missing: %s\nusage: %s\npage: %s'
           % (missing, usage and usage.group(1), entry[:300]))


want = set()
for noun in nouns:
    nh = out(trellis, noun, '--help')
    verbs = [l.split()[0] for l in block(nh, 'Verbs') if re.match(r'^  \S', l)]
    report(noun in page_nouns,
           'trellis(1) has noun %s (%d verbs in --help)' % (noun, len(verbs)))
    if not verbs:                   # the noun is a command itself
        want.add((noun, None))
        check_command((noun, None), nh)
    for verb in verbs:
        want.add((noun, verb))
        check_command((noun, verb), out(trellis, noun, verb, '--help'))
stale = sorted(set(entries) - want, key=str)
report(not stale, 'trellis(1) lists no verb the CLI does not have',
       [' '.join(k for k in s if k) for s in stale])

# ---- trellisd(8), trellis-plugin-check(1) ---------------------------------
for prog, man in (('trellisd', 'trellisd.8'),
                  ('trellis-plugin-check', 'trellis-plugin-check.1')):
    opts = options(out(os.path.join(BIN, prog), '--help'))
    sec = section(render(man), 'OPTIONS')
    missing = [o for o in opts if not mentions(sec, o)]
    report(len(opts) >= 5 and not missing,
           '%s(%s) OPTIONS has the %d options of %s --help'
           % (prog, man[-1], len(opts), prog), 'missing: %s' % missing)

# ---- trellisd.yaml(5) -------------------------------------------------------
keys, path = [], []
for line in out(os.path.join(BIN, 'trellisd'), '--print-defaults').splitlines():
    m = re.match(r'^( *)([a-z_]+):\s*([^#\s]*)', line)
    if m:
        d = len(m.group(1)) // 2
        path = path[:d] + [m.group(2)]
        if m.group(3):
            keys.append('.'.join(path))
sec = section(render('trellisd.yaml.5'), 'KEYS')
missing = [k for k in keys if not re.search(r'^\s+%s \(default' % re.escape(k),
                                            sec, re.M)]
report(len(keys) >= 10 and not missing,
       'trellisd.yaml(5) KEYS has the %d keys of trellisd --print-defaults'
       % len(keys), 'missing: %s' % missing)

print('1..%d' % n)
sys.exit(1 if failed else 0)
