#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# floors.t - every #include "..." in core/ runs downhill: a file includes
# its own folder's headers and the public headers of folders on lower
# floors of core/floors.txt (where the order is written, once), never a
# folder on its floor or above, never another folder's *_int.h, never a
# pair that floors.txt forbids with "never", and nothing outside core/
# but the SDK (<trellis/...>).  The check first proves on a temporary
# tree that it fails on bad includes, then runs on core/.
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'lib'))
import tap  # noqa: E402
from tap import report  # noqa: E402
from levels import read_levels  # noqa: E402

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')

def read_floors(path):
    """{folder: floor number}, {(from, to)} forbidden, or raises."""
    floors, lines = read_levels(path, ('never',))
    never = set()
    for words in lines:
        if len(words) != 3:
            raise ValueError('%s: "never A B": %s' % (path, ' '.join(words)))
        never.add((words[1], words[2]))
    return floors, never


def check(core, floors, never):
    """The list of problems in the tree below core (strings)."""
    problems = []
    for folder in sorted(os.listdir(core)):
        if os.path.isdir(os.path.join(core, folder)) and folder not in floors:
            problems.append('core/%s/ has no floor in floors.txt' % folder)
    for folder in sorted(floors):
        if not os.path.isdir(os.path.join(core, folder)):
            problems.append('floors.txt names %s, which is not a folder of '
                            'core/' % folder)
    for folder in sorted(floors):
        top = os.path.join(core, folder)
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                if not name.endswith(('.c', '.h')):
                    continue
                path = os.path.join(root, name)
                rel = os.path.relpath(path, os.path.dirname(core))
                with open(path, errors='replace') as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        why = judge(core, folder, root, m.group(1), floors,
                                    never)
                        if why:
                            problems.append('%s:%d: #include "%s": %s' %
                                            (rel, lineno, m.group(1), why))
    return problems


def judge(core, folder, here, inc, floors, never):
    target = os.path.normpath(os.path.join(here, inc))
    rel = os.path.relpath(target, core)
    if rel.startswith('..'):
        return 'outside core/ (plugins and tests are not the core\'s)'
    to = rel.split(os.sep)[0]
    if to == folder:
        return None
    if to not in floors:
        return '%s has no floor' % to
    if os.path.basename(rel).endswith('_int.h'):
        return '%s is private to core/%s/' % (os.path.basename(rel), to)
    if (folder, to) in never:
        return 'core/%s/ may not include core/%s/ (floors.txt: never)' % (
            folder, to)
    if floors[to] == floors[folder]:
        return '%s and %s are on the same floor (%d)' % (to, folder,
                                                         floors[to])
    if floors[to] > floors[folder]:
        return '%s (floor %d) is above %s (floor %d)' % (
            to, floors[to], folder, floors[folder])
    return None


def self_test():
    """The check fails on each kind of bad include and passes good ones."""
    with tempfile.TemporaryDirectory() as tmp:
        core = os.path.join(tmp, 'core')
        files = {
            'low/a.h': '#include "a_int.h"\n',         # own _int.h: fine
            'low/a_int.h': '',
            'mid/b.c': '#include "../low/a.h"\n'        # downhill: fine
                       '#include "../low/a_int.h"\n'    # bad: private
                       '#include "../top/c.h"\n'        # bad: uphill
                       '#include "../side/d.h"\n',      # bad: same floor
            'side/d.h': '#include "../../plugins/x.h"\n',  # bad: outside
            'top/c.h': '#include "../mid/b.h"\n'        # bad: never
                       '#include "../low/a.h"\n',       # fine
            'top/sub/e.c': '#include "../../low/a.h"\n',  # fine
            'lost/f.c': '',                             # bad: no floor
        }
        for name, text in files.items():
            p = os.path.join(core, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, 'w') as f:
                f.write(text)
        floors_txt = os.path.join(tmp, 'floors.txt')
        with open(floors_txt, 'w') as f:
            f.write('# test\nlow\nmid side\ntop\nnever top mid\n')
        floors, never = read_floors(floors_txt)
        got = check(core, floors, never)
        want = [
            'core/lost/ has no floor in floors.txt',
            'core/mid/b.c:2: #include "../low/a_int.h": a_int.h is private '
            'to core/low/',
            'core/mid/b.c:3: #include "../top/c.h": top (floor 3) is above '
            'mid (floor 2)',
            'core/mid/b.c:4: #include "../side/d.h": side and mid are on the '
            'same floor (2)',
            'core/side/d.h:1: #include "../../plugins/x.h": outside core/ '
            '(plugins and tests are not the core\'s)',
            'core/top/c.h:1: #include "../mid/b.h": core/top/ may not include '
            'core/mid/ (floors.txt: never)',
        ]
        report(got == want, 'the check finds each kind of bad include in a '
               'temporary tree, and only those',
               ['got:  ' + g for g in got] + ['want: ' + w for w in want]
               if got != want else ())


def main():
    src = os.environ.get('TRELLIS_SRC') or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..', '..')
    core = os.path.join(src, 'core')
    self_test()
    try:
        floors, never = read_floors(os.path.join(core, 'floors.txt'))
    except (OSError, ValueError) as e:
        report(False, 'core/floors.txt reads', [str(e)])
        floors = None
    if floors is not None:
        report(True, 'core/floors.txt reads (%d floors)' %
               max(floors.values()))
        problems = check(core, floors, never)
        report(not problems, 'every #include in core/ runs downhill '
               '(core/floors.txt)', problems)
    return tap.done()


sys.exit(main())
