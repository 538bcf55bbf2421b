# SPDX-License-Identifier: Apache-2.0
"""SCons helpers for Trellis: compiler flags per mode, pkg-config checks
that skip a component with one line naming the Debian package, and the
TrellisPlugin / TrellisProgram / TrellisTest builders."""
import os
import subprocess

from SCons.Script import Dir, File

VERSION = '0.1.0'

WARN = ['-Wall', '-Wextra', '-Werror', '-Wshadow', '-Wstrict-prototypes',
        '-Wmissing-prototypes', '-Wformat=2', '-Wno-format-nonliteral']

# pkg-config module -> Debian package that provides it
PKG_DEBIAN = {
    'libvirt': 'libvirt-dev',
    'libxml-2.0': 'libxml2-dev',
    'nanomsg': 'libnanomsg-dev',
    'jansson': 'libjansson-dev',
    'yaml-0.1': 'libyaml-dev',
    'sqlite3': 'libsqlite3-dev',
    'libsodium': 'libsodium-dev',
    'libnl-3.0': 'libnl-3-dev',
    'libnl-route-3.0': 'libnl-route-3-dev',
    'libnftables': 'libnftables-dev',
    'libwebsockets': 'libwebsockets-dev',
    'cmocka': 'libcmocka-dev',
    'xencontrol': 'libxen-dev',
    'xenlight': 'libxen-dev',
    'xenstore': 'libxen-dev',
    'xentoollog': 'libxen-dev',
    'libpq': 'libpq-dev',
}

_reported = set()


def _pkg_exists(mod):
    return subprocess.call(['pkg-config', '--exists', mod]) == 0


def setup_env(env):
    mode = env['mode']
    bdir = env['build'] or {'debug': 'build', 'release': 'build',
                            'asan': 'build-asan', 'fuzz': 'build-fuzz'}[mode]
    env['BUILD_DIR'] = bdir
    env['BUILD_ABS'] = Dir('#' + bdir).abspath
    env['SRC_ABS'] = Dir('#').abspath
    env['TRELLIS_VERSION'] = VERSION
    if mode == 'fuzz':
        env['CC'] = 'clang'
    cflags = ['-std=gnu11', '-g', '-pthread', '-fno-strict-aliasing'] + WARN
    ldflags = ['-pthread']
    if mode == 'release':
        cflags += ['-O2', '-D_FORTIFY_SOURCE=2']
    elif mode == 'debug':
        cflags += ['-O2']
    elif mode == 'asan':
        san = ['-fsanitize=address,undefined', '-fno-omit-frame-pointer',
               '-fno-sanitize-recover=undefined']
        cflags += ['-O1'] + san
        ldflags += san
    elif mode == 'fuzz':
        san = ['-fsanitize=fuzzer-no-link,address,undefined',
               '-fno-omit-frame-pointer']
        cflags += ['-O1'] + san
        ldflags += ['-fsanitize=address,undefined']
    env.Append(CCFLAGS=cflags, LINKFLAGS=ldflags,
               CPPPATH=['#sdk/include'],
               CPPDEFINES=[('TRELLIS_VERSION', '\\"%s\\"' % VERSION),
                           '_GNU_SOURCE'])
    if not int(env.get('VERBOSE', 0) or 0):
        for k, w in (('CCCOMSTR', 'CC'), ('SHCCCOMSTR', 'CC'),
                     ('LINKCOMSTR', 'LINK'), ('SHLINKCOMSTR', 'LINK'),
                     ('ARCOMSTR', 'AR'), ('RANLIBCOMSTR', 'RANLIB')):
            env[k] = '  %-6s $TARGET' % w
    env.AddMethod(with_pkgs, 'TrellisPkgs')
    env.AddMethod(trellis_plugin, 'TrellisPlugin')
    env.AddMethod(trellis_program, 'TrellisProgram')
    env.AddMethod(trellis_test, 'TrellisTest')
    env.AddMethod(trellis_install, 'TrellisInstall')


def with_pkgs(env, what, pkgs):
    """A clone of env with the flags of pkg-config modules pkgs, or None
    (after one line naming the Debian package) when one is missing."""
    missing = [p for p in pkgs if not _pkg_exists(p)]
    if missing:
        key = (what, tuple(missing))
        if key not in _reported:
            _reported.add(key)
            debs = sorted({PKG_DEBIAN.get(p, p) for p in missing})
            print('trellis: skipping %s: missing %s (apt-get install %s)'
                  % (what, ', '.join(missing), ' '.join(debs)))
        return None
    e = env.Clone()
    for p in pkgs:
        e.ParseConfig('pkg-config --cflags --libs ' + p)
    return e


def trellis_plugin(env, name, sources, pkgs=(), libs=(), dest='plugins',
                   cppdefines=()):
    """Builds BUILD/<dest>/<name>.so, or skips it when a pkg is missing.
    Plugins never link against the core (-z defs catches any attempt)."""
    e = with_pkgs(env, 'plugin ' + name, list(pkgs))
    if e is None:
        return None
    e.Append(CCFLAGS=['-fvisibility=hidden', '-fPIC'],
             LINKFLAGS=['-Wl,-z,defs', '-Wl,--no-undefined'],
             LIBS=list(libs), CPPDEFINES=list(cppdefines))
    e['SHLIBPREFIX'] = ''
    target = '#%s/%s/%s' % (env['BUILD_DIR'], dest, name)
    lib = e.SharedLibrary(target, sources)
    if dest == 'plugins':
        trellis_install(env, 'lib/trellis/plugins', lib)
    return lib


def trellis_program(env, name, sources, pkgs=(), libs=(), dest='bin',
                    install=True):
    e = with_pkgs(env, 'program ' + name, list(pkgs))
    if e is None:
        return None
    e.Append(LIBS=list(libs))
    prog = e.Program('#%s/%s/%s' % (env['BUILD_DIR'], dest, name), sources)
    if install and dest == 'bin':
        trellis_install(env, 'bin', prog)
    return prog


def trellis_test(env, suite, name, sources, pkgs=(), libs=()):
    """A cmocka test binary in BUILD/tests/bin/<suite>/<name>; the runner
    finds it there."""
    e = with_pkgs(env, 'test %s/%s' % (suite, name), ['cmocka'] + list(pkgs))
    if e is None:
        return None
    e.Append(LIBS=list(libs))
    return e.Program('#%s/tests/bin/%s/%s' % (env['BUILD_DIR'], suite, name),
                     sources)


_INSTALL = []


def install_targets():
    return _INSTALL


def trellis_install(env, subdir, nodes):
    dest = env.get('DESTDIR', '') + os.path.join(env['PREFIX'], subdir)
    inst = env.Install(dest, nodes)
    _INSTALL.append(inst)
    return inst
