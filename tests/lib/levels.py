# SPDX-License-Identifier: Apache-2.0
"""levels.py - the reader of the level files of core/ (floors.txt, a
folder's layers.txt): one line a level from the bottom up, its names
separated by spaces, '#' comments; a line opening with one of the given
directive words is returned apart instead (floors.txt's "never A B")."""


def read_levels(path, directives=()):
    """({name: level from 1 at the bottom}, [directive lines as word
    lists]), or raises ValueError on a name on two levels."""
    levels, lines, level = {}, [], 0
    with open(path) as f:
        for raw in f:
            words = raw.split('#', 1)[0].split()
            if not words:
                continue
            if words[0] in directives:
                lines.append(words)
                continue
            level += 1
            for w in words:
                if w in levels:
                    raise ValueError('%s: %s on two levels' % (path, w))
                levels[w] = level
    return levels, lines
