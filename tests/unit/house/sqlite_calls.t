#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# sqlite_calls.t - no file of core/ outside core/store/ names SQLite
# (sqlite3*, SQLITE_*, <sqlite3.h>): every subsystem reaches its tables
# through the SQL layer (core/store/sql.h, tr_store_sql(), tr_sql_*), so
# that the store can run on PostgreSQL (issue 24).  The one exception is
# trellis-escrowd, which keeps its own database file: it may name SQLite
# in its #include and inside escrow_db_open() and escrow_db_close() in
# core/escrowd/escrowd.c, nowhere else.  The check first proves on a
# temporary tree that it finds a call, then runs on core/.
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'lib'))
import tap  # noqa: E402
from tap import report  # noqa: E402

SRC = os.environ.get('TRELLIS_SRC', '.')
NAME = re.compile(r'sqlite3|SQLITE_[A-Z]')
ESCROWD = os.path.join('escrowd', 'escrowd.c')
ALLOWED_FUNCS = ('escrow_db_open', 'escrow_db_close')
FUNC_START = re.compile(r'^\w[\w\s\*]*\b(%s)\s*\(' % '|'.join(ALLOWED_FUNCS))


def allowed_lines(lines):
    """The line numbers (1-based) of escrowd.c that may name SQLite: its
    #include and the bodies of the two allowed functions."""
    ok = set()
    inside = False
    for n, line in enumerate(lines, 1):
        if re.match(r'^\s*#\s*include\s*<sqlite3\.h>', line):
            ok.add(n)
        if FUNC_START.match(line):
            inside = True
        if inside:
            ok.add(n)
            if line.startswith('}'):
                inside = False
    return ok


def check(core):
    """The list of 'path:line: text' that name SQLite below core."""
    problems = []
    for top, dirs, names in os.walk(core):
        dirs.sort()
        rel_top = os.path.relpath(top, core)
        if rel_top == 'store' or rel_top.startswith('store' + os.sep):
            dirs[:] = []
            continue
        for n in sorted(names):
            if not n.endswith(('.c', '.h')):
                continue
            p = os.path.join(top, n)
            rel = os.path.relpath(p, core)
            with open(p, errors='replace') as f:
                lines = f.read().split('\n')
            ok = allowed_lines(lines) if rel == ESCROWD else set()
            for k, line in enumerate(lines, 1):
                if NAME.search(line) and k not in ok:
                    problems.append('core/%s:%d: %s' % (rel, k, line.strip()))
    return problems


def write(root, rel, text):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, 'w') as f:
        f.write(text)


with tempfile.TemporaryDirectory() as d:
    write(d, 'store/sql_sqlite.c', '#include <sqlite3.h>\nsqlite3_step(s);\n')
    write(d, 'auth/users.c', 'int f(void)\n{\n\treturn sqlite3_step(st);\n}\n')
    write(d, 'tenancy/caps.h', '#include <sqlite3.h>\n')
    write(d, 'escrowd/escrowd.c',
          '#include <sqlite3.h>\n'
          'static int escrow_db_open(const char *p)\n{\n'
          '\tsqlite3 *h = NULL;\n\treturn sqlite3_open(p, &h);\n}\n'
          'static void purge(void)\n{\n\tsqlite3_exec(db, "x", 0, 0, 0);\n}\n')
    found = check(d)
    report(len(found) == 3 and
           'core/auth/users.c:3: return sqlite3_step(st);' in found and
           'core/tenancy/caps.h:1: #include <sqlite3.h>' in found and
           any(f.startswith('core/escrowd/escrowd.c:9:') for f in found),
           'a call, an include and an escrowd call outside its open are '
           'found; core/store and escrowd\'s open are not', found)

problems = check(os.path.join(SRC, 'core'))
report(os.path.isfile(os.path.join(SRC, 'core', ESCROWD)),
       'core/%s is there (the one exception)' % ESCROWD)
report(not problems, 'no file of core/ outside core/store names SQLite '
       '(use tr_store_sql() and tr_sql_*, core/store/sql.h)', problems)
sys.exit(tap.done())
