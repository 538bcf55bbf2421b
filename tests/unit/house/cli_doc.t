#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
# docs/cli.md's command reference is what the CLI's own --help prints
# (docs/gen-cli-md.py): a verb, an option or a noun added to core/cli
# without running the generator fails here, with the diff.
source "$(dirname "$0")/../../lib/tap.sh"
bin=$TRELLIS_BUILD/bin
if [[ ! -x $bin/trellis ]]; then
	skip "docs/cli.md matches trellis --help" "trellis not built"
	done_testing
fi
out=$(python3 "$TRELLIS_SRC/docs/gen-cli-md.py" --bin "$bin" --check 2>&1)
rc=$?
is "docs/cli.md matches trellis --help (else: docs/gen-cli-md.py --bin $bin)" "$rc" 0
[[ $rc == 0 ]] || sed 's/^/# /' <<<"$out" | head -40
like "the reference has every noun of the CLI, pool and volume too" \
	"$(grep -c '^### `trellis \(pool\|volume\|network\|policy\)`' "$TRELLIS_SRC/docs/cli.md")" "^4$"
# The check can fail: a doc with one verb removed is a drift.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
grep -v 'trellis pool delete' "$TRELLIS_SRC/docs/cli.md" >"$tmp"
nok "a doc that lacks a verb is reported" python3 "$TRELLIS_SRC/docs/gen-cli-md.py" --bin "$bin" --check "$tmp"
done_testing
