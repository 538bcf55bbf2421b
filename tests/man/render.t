#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/man/render.t - the man pages render without a warning.
#
# Each page in BUILD/man (docs/man, built by pandoc at build time) goes
# through groff with every warning on (`groff -t -ww -z -man`, silent when
# clean), through man(1) as a reader sees it (`man --warnings -l`, 80
# columns), and through lexgrog, which must find its NAME line (what
# whatis(1) and apropos(1) show).
source "$(dirname "$0")/../lib/tap.sh"

pages=(trellis.1 trellisd.8 trellis-plugin-check.1 trellis-workflow.5
	trellisd.yaml.5 trellis-agent.8 trellis-escrowd.8 trellis-console.8)
for p in "${pages[@]}"; do
	f=$TRELLIS_BUILD/man/$p
	if [[ ! -f $f ]]; then
		_tap_report 1 "$p was built (BUILD/man; pandoc missing?)"
		continue
	fi
	warn=$(groff -t -ww -z -man "$f" 2>&1)
	is "$p: groff -ww -z prints no warning" "$warn" ""
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
	is "$p: man --warnings -l prints no warning" "$warn" ""
	name=${p%.*}
	like "$p: lexgrog finds its NAME line" "$(lexgrog "$f" 2>&1)" \
		": \"$name - [a-z]"
	text=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>/dev/null)
	like "$p: renders with NAME, SYNOPSIS and SEE ALSO" "$text" \
		$'NAME\n.*SYNOPSIS\n.*SEE ALSO\n'
done
done_testing
