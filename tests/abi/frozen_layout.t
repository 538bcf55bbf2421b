#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
"""The current SDK headers keep every promise of the frozen 1.0 headers.

sdk/abi/1.0/include holds the headers as ABI 1.0 was declared.  For each
struct there (descriptor, host table, ops tables, specs, infos) the field
list of 1.0 -- offset, type and name, so also every op's signature -- must
be a prefix of the current one, and the current struct may only be larger.
Every numeric constant of 1.0 (error codes, flags, capability bits, enum
values, the *_SIZE_1_0 sizes) keeps its value, every error code keeps its
name, and no kind requires an op that 1.0 did not require (or a 1.0 plugin
would be refused).  Layouts come from clang -fdump-record-layouts.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get('TRELLIS_SRC') or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FROZEN = os.path.join(SRC, 'sdk', 'abi', '1.0', 'include')
CURRENT = os.path.join(SRC, 'sdk', 'include')
HEADERS = ['error.h', 'plugin.h', 'host.h', 'hypervisor.h', 'storage.h',
           'network.h', 'policy.h']
# Constants that may change from one minor to the next.
MAY_GROW = {'TRELLIS_ABI_MINOR', 'TRELLIS_E__LAST'}
KINDS = ['HYPERVISOR', 'STORAGE', 'NETWORK', 'POLICY']

n = 0
failed = 0


def report(ok, what, diag=()):
    global n, failed
    n += 1
    print('%s %d - %s' % ('ok' if ok else 'not ok', n, what))
    if not ok:
        failed += 1
        for d in diag:
            print('#   ' + d)


def skip(what, why):
    global n
    n += 1
    print('ok %d - %s # SKIP %s' % (n, what, why))


def header_text(inc):
    text = ''
    for h in HEADERS:
        with open(os.path.join(inc, 'trellis', h)) as f:
            text += f.read() + '\n'
    return text.replace('\\\n', ' ')


def struct_names(text):
    return sorted(set(re.findall(r'struct\s+(trellis_\w+)\s*\{', text)))


def constant_names(text):
    names = set()
    for body in re.findall(r'enum\s+\w*\s*\{([^}]*)\}', text):
        names.update(re.findall(r'^\s*(TRELLIS_\w+)\s*=', body, re.M))
    for name, value in re.findall(r'^#define\s+(TRELLIS_\w+)[ \t]+(.+)$',
                                  text, re.M):
        if name.startswith('TRELLIS__') or '"' in value or \
                'attribute' in value or name in MAY_GROW:
            continue
        names.add(name)
    return sorted(names)


def error_codes(text):
    body = re.search(r'enum\s+trellis_error\s*\{([^}]*)\}', text).group(1)
    return re.findall(r'^\s*(TRELLIS_\w+)\s*=', body, re.M)


def probe_source(structs, consts, codes):
    out = ['#include <stdio.h>']
    out += ['#include <trellis/%s>' % h for h in HEADERS]
    out.append('unsigned long trellis_sizes[] = {')
    out += ['\tsizeof(struct %s),' % s for s in structs]
    out.append('};')
    out.append('#define S(x) #x " "')
    out.append('int main(void) {')
    out += ['\tprintf("const %s %%lld\\n", (long long)(%s));' % (c, c)
            for c in consts]
    out += ['\tprintf("errname %s %%s\\n", trellis_error_name(%s));' % (c, c)
            for c in codes]
    out += ['\tprintf("required %s %%s\\n", TRELLIS_%s_REQUIRED_OPS(S));'
            % (k, k) for k in KINDS]
    out.append('\treturn 0;\n}')
    return '\n'.join(out) + '\n'


def layouts(inc, src):
    """{struct: (sizeof, [(offset, 'type name'), ...])} from clang."""
    out = subprocess.run(
        ['clang', '-std=gnu11', '-I' + inc, '-Xclang',
         '-fdump-record-layouts', '-fsyntax-only', src],
        capture_output=True, text=True, check=True).stdout
    result = {}
    for block in out.split('*** Dumping AST Record Layout')[1:]:
        lines = [l for l in block.splitlines() if '|' in l]
        head = lines[0].split('|', 1)[1].strip()
        m = re.match(r'(?:struct|union) (\w+)', head)
        if not m:
            continue
        fields = []
        size = None
        for l in lines[1:]:
            off, rest = l.split('|', 1)
            sm = re.search(r'\[sizeof=(\d+)', rest)
            if sm:
                size = int(sm.group(1))
                continue
            if off.strip():
                fields.append((int(off.split(':')[0]), rest.strip()))
        result[m.group(1)] = (size, fields)
    return result


def run_probe(inc, src, tmp, tag):
    exe = os.path.join(tmp, 'probe-' + tag)
    subprocess.run(['cc', '-std=gnu11', '-I' + inc, '-o', exe, src],
                   check=True, capture_output=True, text=True)
    out = subprocess.run([exe], check=True, capture_output=True,
                         text=True).stdout
    vals = {}
    for line in out.splitlines():
        what, name, value = line.split(' ', 2)
        vals[(what, name)] = value.strip()
    return vals


def main():
    frozen_text = header_text(FROZEN)
    structs = struct_names(frozen_text)
    consts = constant_names(frozen_text)
    codes = error_codes(frozen_text)
    tmp = tempfile.mkdtemp(prefix='trellis-abi-')
    try:
        src = os.path.join(tmp, 'probe.c')
        with open(src, 'w') as f:
            f.write(probe_source(structs, consts, codes))

        if shutil.which('clang'):
            old = layouts(FROZEN, src)
            new = layouts(CURRENT, src)
            for s in structs:
                if s not in old:
                    report(False, 'layout of struct %s' % s,
                           ['clang printed no layout for it'])
                    continue
                osize, ofields = old[s]
                if s not in new:
                    report(False, 'struct %s still exists' % s)
                    continue
                nsize, nfields = new[s]
                diag = []
                for i, (off, decl) in enumerate(ofields):
                    if i >= len(nfields) or nfields[i] != (off, decl):
                        got = ('%d %s' % nfields[i]) if i < len(nfields) \
                            else 'nothing'
                        diag.append('1.0 has "%d %s", now "%s"'
                                    % (off, decl, got))
                        break
                if nsize < osize:
                    diag.append('sizeof shrank from %d to %d'
                                % (osize, nsize))
                report(not diag,
                       'struct %s: 1.0 fields unchanged (%d fields, %d '
                       'bytes; now %d fields, %d bytes)'
                       % (s, len(ofields), osize, len(nfields), nsize), diag)
        else:
            skip('struct layouts', 'clang is not installed')

        old = run_probe(FROZEN, src, tmp, 'frozen')
        new = run_probe(CURRENT, src, tmp, 'current')
        diag = ['%s: 1.0 value %s, now %s' % (k[1], v, new.get(k))
                for k, v in sorted(old.items())
                if k[0] == 'const' and new.get(k) != v]
        report(not diag, '%d numeric constants of 1.0 keep their values'
               % len(consts), diag)
        diag = ['%s: 1.0 name %s, now %s' % (k[1], v, new.get(k))
                for k, v in sorted(old.items())
                if k[0] == 'errname' and new.get(k) != v]
        report(not diag, '%d error codes keep their names' % len(codes),
               diag)
        for k in KINDS:
            was = set(old[('required', k)].split())
            now = set(new[('required', k)].split())
            extra = sorted(now - was)
            report(not extra,
                   '%s requires no op beyond 1.0\'s (%s)'
                   % (k.lower(), ' '.join(sorted(now))),
                   ['newly required: %s (a 1.0 plugin without it would be '
                    'refused)' % ' '.join(extra)] if extra else ())
    except subprocess.CalledProcessError as e:
        report(False, 'probe compiles and runs',
               [l for l in (e.stderr or '').splitlines()[:20]])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print('1..%d' % n)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
