#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# spdx.t - every source file of the tree (C, headers, Python, shell, .t
# tests, SConscript/SConstruct, Makefiles) says its licence in an
# "SPDX-License-Identifier: Apache-2.0" line among its first three lines,
# except sdk/abi/1.0/ (frozen as declared).  It first proves on a
# temporary tree that a file without the line fails.
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'lib'))
import tap  # noqa: E402
from tap import report  # noqa: E402

TAG = 'SPDX-License-Identifier: Apache-2.0'
# Generated or fetched, never ours (tests/*/cache, npm's node_modules).
SKIP_DIRS = {'.git', 'build', 'build-asan', 'build-fuzz', '__pycache__',
             'cache', 'node_modules'}

def is_source(name):
    return (name.endswith(('.c', '.h', '.py', '.sh', '.t')) or
            name in ('SConscript', 'SConstruct', 'Makefile'))


def missing(top):
    """Source files below top without the line, relative to top."""
    out = []
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and
                         not d.startswith('build'))
        rel = os.path.relpath(root, top)
        if rel == os.path.join('sdk', 'abi', '1.0') or rel.startswith(
                os.path.join('sdk', 'abi', '1.0') + os.sep):
            continue
        for name in sorted(files):
            if not is_source(name):
                continue
            path = os.path.join(root, name)
            with open(path, errors='replace') as f:
                head = ''.join(f.readline() for _ in range(3))
            if TAG not in head:
                out.append(os.path.relpath(path, top))
    return out


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        files = {'a.c': '/* %s */\n/* a.c - fine */\n' % TAG,
                 'b.h': '/* b.h - no licence line */\n',
                 'run.sh': '#!/bin/sh\n# %s\n' % TAG,
                 'sdk/abi/1.0/x.h': '/* frozen: exempt */\n',
                 'notes.md': 'prose is not source\n'}
        for name, text in files.items():
            p = os.path.join(tmp, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, 'w') as f:
                f.write(text)
        got = missing(tmp)
        report(got == ['b.h'], 'a source file without the SPDX line fails '
               '(temporary tree)', ['got: %s' % got] if got != ['b.h'] else ())


def main():
    src = os.environ.get('TRELLIS_SRC') or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..', '..')
    self_test()
    bad = missing(src)
    report(not bad, 'every source file carries "%s"' % TAG, bad)
    return tap.done()


sys.exit(main())
