#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
#
# trellis-plugin-check fails a plugin that breaks the rule "an existing
# object under another key is CONFLICT, never adopted": the storage plugin
# tests/conformance/plugins/adopts_by_name.c returns an existing volume to
# any create of its name, and ignores TRELLIS_VOL_DELETE_IF_KEY.  The
# checker must exit 1 and fail exactly those checks, naming the adoption
# and the deletion; every other check of the plugin passes.
source "$(dirname "$0")/../lib/tap.sh"

check=$TRELLIS_BUILD/bin/trellis-plugin-check
so=$TRELLIS_BUILD/tests/plugins/conf_adopts_by_name.so
if [[ ! -x $check || ! -e $so ]]; then
	skip "the checker fails a plugin that adopts by name" "not built"
	done_testing
fi

out=$("$check" "$so" 2>&1)
rc=$?
is "the checker exits 1 for a plugin that adopts by name" "$rc" 1
is "it fails exactly the adoption and IF_KEY checks" \
	"$(grep -oE '^FAIL [^:]+:[^:]+' <<<"$out" | sort | xargs)" \
	"FAIL idempotent:vol_create-no-key FAIL idempotent:vol_create-other-key FAIL idempotent:vol_delete-if-key"
like "another key's create is reported as an adoption" \
	"$(grep '^FAIL idempotent:vol_create-other-key' <<<"$out")" \
	"succeeded, want CONFLICT: the existing object was adopted"
like "an IF_KEY delete under another key is reported as a deletion" \
	"$(grep '^FAIL idempotent:vol_delete-if-key' <<<"$out")" \
	"succeeded, want CONFLICT: it was deleted"

done_testing
