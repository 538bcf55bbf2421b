#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages listed in tools/deps/*.txt that are missing.
# Idempotent and quick when everything is present.  Needs root to install.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t want < <(cat tools/deps/*.txt | sed -e 's/#.*//' -e 's/[[:space:]]//g' | grep -v '^$' | sort -u)
missing=()
for p in "${want[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[[ "$st" == ii* ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: missing packages and not root; run: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/trellis-apt.log 2>&1 || {
	tail -20 /tmp/trellis-apt.log >&2
	exit 1
}
