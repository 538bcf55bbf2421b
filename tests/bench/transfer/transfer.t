#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 900
# The transfer benchmark (issue 21): a bridge transfer of a raw volume
# between two local pools (trellis volume transfer: workflow volume.transfer;
# both pools are localfs, so the copy takes the local path: copy_file_range
# on a copier thread, an XXH3-128 digest of each chunk at the source and at
# the destination, both in place in the page cache, writeback started per
# verified chunk, a progress row per quarter second, fdatasync at the end)
# against `cp` of the same file, alternating in one run.  Two baselines: cp
# alone, and cp + sync of the copy (the transfer's durability).  Prints
# medians (MiB/s), the ratios and the load average as TAP diagnostics
# (target: the transfer at least 0.9x cp's throughput with the digest on);
# it fails only when it cannot measure, never on slow figures.
#   BENCH_SIZE=2G BENCH_ROUNDS=5 tests/bench/transfer/transfer.t   the full run
source "$(dirname "$0")/../../lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"
size=${BENCH_SIZE:-256M}
rounds=${BENCH_ROUNDS:-3}
bytes=$(numfmt --from=iec "$size")
td_start -P "$TRELLIS_BUILD/plugins" || { echo "Bail out! trellisd does not start"; exit 1; }
export TRELLIS_SOCKET=ipc://$TD_DIR/api.sock
tcli pool create a --target "$TD_DIR/a" >/dev/null
tcli pool create b --target "$TD_DIR/b" >/dev/null
tcli storage bridge create a b >/dev/null
cat >"$TD_DIR/mk.yaml" <<'Y'
workflow: t.mk
version: 1
inputs: {size: {type: int}}
steps:
  - id: v
    call: storage.volume_create
    with: {pool: a, name: src, size: "${inputs.size}", format: raw}
Y
tcli workflow run "$TD_DIR/mk.yaml" -i "size=$bytes" --wait >/dev/null 2>&1
ok "a raw source volume of $size" test -f "$TD_DIR/a/src"
# incompressible, fully allocated bytes
head -c "$bytes" /dev/urandom | dd of="$TD_DIR/a/src" conv=notrunc,fsync status=none
src_sum=$(sha256sum <"$TD_DIR/a/src" | cut -d' ' -f1)
cat "$TD_DIR/a/src" >/dev/null # both start with a warm source

now() { date +%s%N; }
mibs() { python3 -c "import sys; print('%.1f' % ($bytes / 1048576 / ((int(sys.argv[2]) - int(sys.argv[1])) / 1e9)))" "$1" "$2"; }
declare -a T_CP T_CPS T_TR T_STEP
fail=0
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$rounds"); do
	t0=$(now); cp "$TD_DIR/a/src" "$TD_DIR/cp.$r"; t1=$(now)
	T_CP+=("$(mibs "$t0" "$t1")")
	rm -f "$TD_DIR/cp.$r"
	t0=$(now); cp "$TD_DIR/a/src" "$TD_DIR/cps.$r"; sync "$TD_DIR/cps.$r"; t1=$(now)
	T_CPS+=("$(mibs "$t0" "$t1")")
	rm -f "$TD_DIR/cps.$r"
	t0=$(now)
	out=$(tcli volume transfer src --pool a --to b --name "r$r" -o json 2>/dev/null)
	t1=$(now)
	if [[ $(json 'j["digest"]' <<<"$out" 2>/dev/null) == "" ]]; then
		fail=1
		break
	fi
	T_TR+=("$(mibs "$t0" "$t1")")
	id=$(tcli workflow list -o json | json '[i["id"] for i in j["items"] if i["workflow"] == "volume.transfer"][0]')
	T_STEP+=("$(tcli workflow logs "$id" -o json | json '[round('"$bytes"' / 1048576 / (s["duration_ms"] / 1000), 1) for s in j["steps"] if s["step"] == "copy"][0]')")
	[[ $r == 1 ]] && dst_sum=$(sha256sum <"$TD_DIR/b/r1" | cut -d' ' -f1)
	[[ $r == 1 ]] && path=$(tcli workflow logs "$id" -o json | json '[s["outputs"].get("path") for s in j["steps"] if s["step"] == "copy"][0]')
	rm -f "$TD_DIR/b/r$r" # the next round's destination is new
done
is "every transfer finished with a digest" "$fail" 0
is "... and the bytes arrived unchanged" "${dst_sum:-}" "$src_sum"
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
m_cp=$(median "${T_CP[@]}"); m_cps=$(median "${T_CPS[@]}")
m_tr=$(median "${T_TR[@]}"); m_step=$(median "${T_STEP[@]}")
is "... over the local path (copy_file_range, digests in place)" "${path:-}" local
diag "volume of $size, $rounds rounds alternating, MiB/s medians (load average before: $load0, after: $(cut -d' ' -f1-3 /proc/loadavg)):"
diag "  cp                         $m_cp   (rounds: ${T_CP[*]})"
diag "  cp + sync                  $m_cps   (rounds: ${T_CPS[*]})"
diag "  trellis volume transfer    $m_tr   (rounds: ${T_TR[*]}; end to end, CLI to workflow done)"
diag "  its copy step alone        $m_step   (rounds: ${T_STEP[*]})"
diag "  ratio transfer / cp        $(python3 -c "print('%.2fx' % ($m_tr / $m_cp))")"
diag "  ratio transfer / cp+sync   $(python3 -c "print('%.2fx' % ($m_tr / $m_cps))")"
diag "  ratio copy step / cp+sync  $(python3 -c "print('%.2fx' % ($m_step / $m_cps))")"
td_stop
done_testing
