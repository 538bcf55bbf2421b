#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# designated.t - the op, verb and action tables of core/ use designated
# initializers (tools/designate.py --check; issue 15).  It first proves on
# a temporary file that a positional entry fails.  A failure names the
# files: `tools/designate.py FILE...` rewrites them.
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'lib'))
import tap  # noqa: E402
from tap import report  # noqa: E402

SRC = os.environ.get('TRELLIS_SRC', '.')
TOOL = os.path.join(SRC, 'tools', 'designate.py')
TABLE = re.compile(r'const struct (tr_api_op|cli_verb|tr_action) \w+\[\]')


def check(files):
    p = subprocess.run([sys.executable, TOOL, '--check'] + files,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    return p.returncode, p.stdout


with tempfile.TemporaryDirectory() as d:
    bad = os.path.join(d, 'bad.c')
    with open(bad, 'w') as f:
        f.write('static const struct tr_action a[] = {\n'
                '    {"x.y", "does y", NULL, NULL, run, NULL, 0},\n};\n')
    rc, out = check([bad])
    report(rc == 1 and 'bad.c: 1 positional' in out,
           'a positional entry is found', out.splitlines())

files = []
for top, dirs, names in os.walk(os.path.join(SRC, 'core')):
    for n in names:
        if n.endswith('.c'):
            p = os.path.join(top, n)
            with open(p, errors='replace') as f:
                if TABLE.search(f.read()):
                    files.append(p)
rc, out = check(sorted(files))
report(len(files) > 40, 'the tables are found (%d files)' % len(files))
report(rc == 0, 'every op, verb and action entry is designated',
       out.splitlines())
sys.exit(tap.done())
