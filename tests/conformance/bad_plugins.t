#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
#
# trellis-plugin-check fails a plugin that breaks the rule "an existing
# object under another key is CONFLICT, never adopted": the storage plugin
# tests/conformance/plugins/bad_storage.c (BAD_CASE 6) returns an existing volume to
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

# Issue 16: one plugin per storage rule of the guide, each failing exactly
# the check of its rule (and the symlink one, where it applies).
fails() { "$check" "$TRELLIS_BUILD/tests/plugins/conf_$1.so" 2>&1 | grep -oE '^FAIL [^:]+:[^:]+' | sort | xargs; }
is "a replay with other arguments that changes the volume" "$(fails bad_other_args)" \
	"FAIL idempotent:vol_create-other-args"
is "a plugin that truncates names" "$(fails bad_truncates)" "FAIL limits:name-127"
is "a plugin that makes a volume no pool can hold" "$(fails bad_too_big)" \
	"FAIL capacity:vol_create-too-big"
is "a plugin whose pool_info does not add up" "$(fails bad_pool_info)" "FAIL capacity:pool_info"
is "a plugin that follows symlinks planted in its pool" "$(fails follows_links)" \
	"FAIL symlink:vol_create FAIL symlink:vol_delete FAIL symlink:vol_info FAIL symlink:vol_resize"
out=$("$check" "$TRELLIS_BUILD/tests/plugins/conf_bad_create_fails.so" 2>&1)
is "a create that fails: only it fails" "$(grep -oE '^FAIL [^:]+:[^:]+' <<<"$out" | xargs)" \
	"FAIL create:vol_create"
like "... and what needs a volume is shown as SKIP, not left out" \
	"$(grep '^SKIP idempotent:vol_create-other-key' <<<"$out")" "needs a volume: create:vol_create failed"
is "... every dependent check is there" "$(grep -c '^SKIP' <<<"$out")" 14
xen=$TRELLIS_BUILD/plugins/xen.so
if [[ -e $xen ]]; then
	like "the hypervisor suite without --target on a non-test plugin says give --target" \
		"$("$check" "$xen" 2>&1 | grep '^SKIP connect')" "give --target URI"
else
	skip "the hypervisor suite without --target" "xen.so not built"
fi
done_testing
