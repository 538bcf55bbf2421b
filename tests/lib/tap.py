# SPDX-License-Identifier: Apache-2.0
"""tap.py - TAP helpers for Python tests (tests/lib/tap.sh's twin).

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
    import tap
    tap.report(good, 'what', ['note', ...])
    sys.exit(tap.done())    # prints the plan; 1 when anything failed
"""
n = 0
failed = 0


def report(good, what, notes=()):
    """One result, with notes (printed as # lines)."""
    global n, failed
    n += 1
    print('%s %d - %s' % ('ok' if good else 'not ok', n, what))
    for line in notes:
        print('#   ' + line)
    if not good:
        failed += 1


def done():
    print('1..%d' % n)
    return 1 if failed else 0
