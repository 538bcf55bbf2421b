#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# layers.t - inside a folder of core/ with a layers.txt (core/workflow,
# core/http), the files call each other one way: from the object files of
# the build (nm: which file defines and which uses each extern symbol) it
# derives the call graph between the folder's files, and fails on a cycle
# and on any call that does not go to a lower layer of the folder's
# layers.txt (where the order is written, once).  It
# first proves on small C files compiled in a temporary directory that it
# fails on a cycle, a call sideways, a call up and a file with no layer.
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'lib'))
import tap  # noqa: E402
from tap import report  # noqa: E402
from levels import read_levels  # noqa: E402


def read_layers(path):
    """{file: layer number, from 1 at the bottom}, or raises."""
    return read_levels(path)[0]


def call_graph(objdir, srcdir=None):
    """{file: {callee file: sorted symbols}} from the objects' symbols
    (only objects whose source is still in srcdir, when given: a build dir
    keeps the objects of files since moved away)."""
    defs, uses = {}, {}
    for name in sorted(os.listdir(objdir)):
        if not name.endswith('.o'):
            continue
        if srcdir and not os.path.isfile(os.path.join(srcdir, name[:-2] + '.c')):
            continue
        f = name[:-2]
        out = subprocess.run(['nm', '-P', os.path.join(objdir, name)],
                             check=True, capture_output=True,
                             text=True).stdout
        uses[f] = set()
        for line in out.splitlines():
            p = line.split()
            if len(p) < 2:
                continue
            if p[1] == 'U':
                uses[f].add(p[0])
            elif p[1] in 'TDBRCGSV':  # extern: upper-case kinds
                defs[p[0]] = f
    graph = {}
    for f, syms in uses.items():
        graph[f] = {}
        for s in sorted(syms):
            to = defs.get(s)
            if to and to != f:
                graph[f].setdefault(to, []).append(s)
    return graph


def cycles(graph):
    """The strongly connected sets of more than one file (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                found.append(sorted(scc))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def check(graph, layers):
    """The list of problems (strings)."""
    problems = []
    for c in cycles(graph):
        problems.append('these files call each other in a cycle: %s' %
                        ', '.join(x + '.c' for x in c))
    for f in sorted(graph):
        if f not in layers:
            problems.append('%s.c has no layer in layers.txt' % f)
    for f in sorted(layers):
        if f not in graph:
            problems.append('layers.txt names %s, which has no object file'
                            % f)
    for f in sorted(graph):
        for to, syms in sorted(graph[f].items()):
            if f not in layers or to not in layers:
                continue
            if layers[to] < layers[f]:
                continue
            how = 'the same layer' if layers[to] == layers[f] else 'above it'
            problems.append('%s.c (layer %d) calls %s.c (layer %d, %s): %s'
                            % (f, layers[f], to, layers[to], how,
                               ' '.join(syms)))
    return problems


def self_test():
    """The check fails on a cycle, sideways and upward calls and a file
    with no layer, on small C files compiled here; passes a good tree."""
    files = {
        'low.c': 'int low(void) { return 1; }\n',
        'mid.c': 'int low(void); int top(void);\n'
                 'int mid(void) { return low() + top(); }\n',  # bad: up
        'side.c': 'int mid(void);\n'
                  'int side(void) { return mid(); }\n',        # bad: sideways
        'top.c': 'int mid(void);\n'
                 'int top(void) { return mid(); }\n',          # cycle
        'lost.c': 'int low(void);\n'
                  'int lost(void) { return low(); }\n',        # no layer
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            src = os.path.join(tmp, name)
            with open(src, 'w') as f:
                f.write(text)
            subprocess.run(['cc', '-c', '-o', src[:-2] + '.o', src],
                           check=True)
        lt = os.path.join(tmp, 'layers.txt')
        with open(lt, 'w') as f:
            f.write('# test\nlow\nmid side\ntop\ngone\n')
        got = check(call_graph(tmp), read_layers(lt))
        want = [
            'these files call each other in a cycle: mid.c, top.c',
            'lost.c has no layer in layers.txt',
            'layers.txt names gone, which has no object file',
            'mid.c (layer 2) calls top.c (layer 3, above it): top',
            'side.c (layer 2) calls mid.c (layer 2, the same layer): mid',
        ]
        report(got == want, 'the check finds a cycle, a call up, a call '
               'sideways and a file with no layer in small compiled C '
               'files, and only those',
               ['got:  ' + g for g in got] + ['want: ' + w for w in want]
               if got != want else ())
        # Without top.c and lost.c, and side above mid: a good tree.
        os.remove(os.path.join(tmp, 'lost.o'))
        os.remove(os.path.join(tmp, 'top.o'))
        with open(lt, 'w') as f:
            f.write('low\nmid\nside\n')
        got = check(call_graph(tmp), read_layers(lt))
        report(got == [], 'with the cycle and the strays gone the check '
               'passes', got)


def main():
    src = os.environ.get('TRELLIS_SRC') or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..', '..')
    build = os.environ.get('TRELLIS_BUILD') or os.path.join(src, 'build')
    self_test()
    core = os.path.join(src, 'core')
    folders = sorted(d for d in os.listdir(core)
                     if os.path.isfile(os.path.join(core, d, 'layers.txt')))
    report('workflow' in folders and 'http' in folders,
           'core/workflow and core/http have a layers.txt',
           () if 'workflow' in folders and 'http' in folders else folders)
    for folder in folders:
        try:
            layers = read_layers(os.path.join(core, folder, 'layers.txt'))
        except (OSError, ValueError) as e:
            report(False, 'core/%s/layers.txt reads' % folder, [str(e)])
            continue
        objdir = os.path.join(build, 'obj', 'core', folder)
        if not os.path.isdir(objdir):
            report(False, 'the objects of core/%s are built' % folder,
                   [objdir])
            continue
        graph = call_graph(objdir, os.path.join(core, folder))
        problems = check(graph, layers)
        n = sum(len(v) for v in graph.values())
        report(not problems, 'the %d files of core/%s call only lower '
               'layers (%d layers, %d calls between files, no cycle)' %
               (len(graph), folder, max(layers.values()), n), problems)
    return tap.done()


sys.exit(main())
