#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Trellis test runner.

Runs every suite and prints one closing line, `N passed, N failed,
N skipped`, totalled over all of them.  A suite is a directory under tests/
(unit, abi, integration, ...).  Its tests are:
  * cmocka binaries built into BUILD/tests/bin/<suite>/ (run with TAP output);
  * executable scripts tests/<suite>/**/*.t that print TAP
    ("ok N - what", "not ok N - what", "ok N - what # SKIP why").
A test file that exits non-zero, times out, or prints fewer results than its
plan counts as one more failure.  Full logs go to BUILD/test-logs/.

A script may say `# trellis-timeout: SECONDS` in its first 20 lines.

--pg TESTS runs those tests (suite/name prefixes: integration/workflow,
integration/daemon/cli.t) once more with TRELLIS_TEST_STORE=postgresql,
their trellisd on the PostgreSQL store of TRELLIS_TEST_PG_DSN (test.sh's
throw-away cluster); without a cluster each is one skip.
Environment for tests: TRELLIS_SRC, TRELLIS_BUILD (absolute paths),
TRELLIS_MODE.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAP = re.compile(r'^(not ok|ok)\b\s*(\d+)?\s*-?\s*(.*)$')
PLAN = re.compile(r'^1\.\.(\d+)')
DEFAULT_TIMEOUT = 600


def discover(build, suites):
    found = []
    bindir = os.path.join(build, 'tests', 'bin')
    tdir = os.path.join(SRC, 'tests')
    names = sorted(d for d in os.listdir(tdir)
                   if os.path.isdir(os.path.join(tdir, d)))
    if os.path.isdir(bindir):
        names = sorted(set(names) | set(os.listdir(bindir)))
    for suite in names:
        if suites and suite not in suites:
            continue
        sb = os.path.join(bindir, suite)
        if os.path.isdir(sb):
            for f in sorted(os.listdir(sb)):
                p = os.path.join(sb, f)
                if os.access(p, os.X_OK) and os.path.isfile(p):
                    found.append((suite, f, [p], 'cmocka'))
        sd = os.path.join(tdir, suite)
        if os.path.isdir(sd):
            for root, dirs, files in os.walk(sd):
                dirs.sort()
                for f in sorted(files):
                    p = os.path.join(root, f)
                    if f.endswith('.t') and os.access(p, os.X_OK):
                        rel = os.path.relpath(p, sd)
                        found.append((suite, rel, [p], 'script'))
    return found


def timeout_of(path):
    try:
        with open(path, errors='replace') as f:
            for _, line in zip(range(20), f):
                m = re.search(r'trellis-timeout:\s*(\d+)', line)
                if m:
                    return int(m.group(1))
    except OSError:
        pass
    return DEFAULT_TIMEOUT


def run_one(suite, name, argv, kind, build, mode, logdir, extra_env=None):
    env = dict(os.environ)
    env.update(extra_env or {})
    env.update(TRELLIS_SRC=SRC, TRELLIS_BUILD=os.path.abspath(build),
               TRELLIS_MODE=mode)
    if kind == 'cmocka':
        env['CMOCKA_MESSAGE_OUTPUT'] = 'TAP'
        tmo = DEFAULT_TIMEOUT
    else:
        tmo = timeout_of(argv[0])
    env.setdefault('ASAN_OPTIONS', 'detect_leaks=1:abort_on_error=0')
    env.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1:halt_on_error=1')
    logpath = os.path.join(logdir, '%s__%s%s.log' % (
        suite, name.replace('/', '_'),
        '.' + extra_env['TRELLIS_TEST_STORE'] if extra_env else ''))
    t0 = time.time()
    with open(logpath, 'w') as log:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env,
                                cwd=SRC, start_new_session=True, text=True,
                                errors='replace')
        out = []
        timed_out = False
        try:
            data, _ = proc.communicate(timeout=tmo)
            out = data.splitlines()
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            data, _ = proc.communicate()
            out = (data or '').splitlines()
        log.write('\n'.join(out) + '\n')
    passed = failed = skipped = 0
    plan = None
    failures = []
    for line in out:
        m = PLAN.match(line.strip())
        if m and plan is None:
            plan = int(m.group(1))
            continue
        m = TAP.match(line.strip())
        if not m:
            continue
        desc = m.group(3)
        if re.search(r'#\s*SKIP', desc, re.I):
            skipped += 1
        elif m.group(1) == 'ok':
            passed += 1
        else:
            failed += 1
            failures.append(desc)
    rc = proc.returncode
    extra = None
    if timed_out:
        extra = 'timed out after %ds' % tmo
    elif plan is not None and passed + failed + skipped < plan:
        extra = 'ran %d of %d planned tests (exit %s)' % (
            passed + failed + skipped, plan, rc)
    elif rc != 0 and failed == 0:
        extra = 'exited with status %s' % rc
    elif passed + failed + skipped == 0:
        extra = 'printed no test results'
    if extra:
        failed += 1
        failures.append(extra)
    return dict(suite=suite, name=name, passed=passed, failed=failed,
                skipped=skipped, failures=failures, secs=time.time() - t0,
                log=logpath, tail=out[-40:])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--build', default='build')
    ap.add_argument('--mode', default='debug')
    ap.add_argument('--suites', default='',
                    help='comma-separated suites (default: all)')
    ap.add_argument('--also', action='append', default=[],
                    metavar='BUILD:MODE:SUITES',
                    help='also run SUITES from another build, same totals')
    ap.add_argument('--pg', default='', metavar='TESTS',
                    help='comma-separated suite/name prefixes to run again '
                    'on the PostgreSQL store')
    ap.add_argument('--list', action='store_true')
    args = ap.parse_args()

    runs = [(args.build, args.mode,
             set(filter(None, args.suites.split(','))), None)]
    for a in args.also:
        b, m, s = a.split(':', 2)
        runs.append((b, m, set(filter(None, s.split(','))), None))
    pg = [p for p in args.pg.split(',') if p]
    main_suites = runs[0][2]
    pg = [p for p in pg if not main_suites or p.split('/')[0] in main_suites]
    if pg:
        runs.append((args.build, args.mode,
                     set(p.split('/')[0] for p in pg), pg))

    totals = dict(passed=0, failed=0, skipped=0)
    bad = []
    for build, mode, suites, pg_only in runs:
        logdir = os.path.join(build, 'test-logs')
        os.makedirs(logdir, exist_ok=True)
        tests = discover(build, suites)
        extra = None
        if pg_only:
            tests = [t for t in tests
                     if any(('%s/%s' % (t[0], t[1])).startswith(p)
                            for p in pg_only)]
            extra = {'TRELLIS_TEST_STORE': 'postgresql'}
        for suite, name, argv, kind in tests:
            label = '%s/%s%s' % (suite, name,
                                 ' [postgresql]' if pg_only else
                                 '' if mode in ('debug', 'release')
                                 else ' [%s]' % mode)
            if args.list:
                print(label)
                continue
            if pg_only and not os.environ.get('TRELLIS_TEST_PG_DSN'):
                print('skip %s: no PostgreSQL cluster (TRELLIS_TEST_PG_DSN)'
                      % label, flush=True)
                totals['skipped'] += 1
                continue
            print('RUN  %s' % label, flush=True)
            r = run_one(suite, name, argv, kind, build, mode, logdir, extra)
            for k in totals:
                totals[k] += r[k]
            status = 'FAIL' if r['failed'] else 'ok  '
            print('%s %s: %d passed, %d failed, %d skipped (%.1fs)' % (
                status, label, r['passed'], r['failed'], r['skipped'],
                r['secs']), flush=True)
            if r['failed']:
                bad.append((label, r))
                for f in r['failures'][:20]:
                    print('       not ok: %s' % f)
                print('       --- last lines of %s ---' % r['log'])
                for line in r['tail']:
                    print('       | ' + line)
    if args.list:
        return 0
    if bad:
        print('\nFailed: ' + ', '.join(b[0] for b in bad))
    print('%d passed, %d failed, %d skipped' % (
        totals['passed'], totals['failed'], totals['skipped']))
    return 1 if totals['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
