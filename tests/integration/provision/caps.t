#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 500
# Offerings and cap precedence (issue 23): a VM's caps are its offering's
# (template), then its BU's defaults, then the global defaults, per field;
# vm show says where each comes from, the domain XML carries them
# (<iotune>, <cputune><shares>), a NIC cap this kernel cannot enforce
# (no sch_sfq) is refused plainly, and the write IOPS cap holds a dd
# oflag=direct inside the guest (run through its guest agent) under it.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
lv_require
PV_CONFIG="caps: {disk_read_iops_sec: 500, cpu_shares: 300, disk_write_iops_sec: 900}"
pv_start

if g=$("$TRELLIS_SRC/tests/guest/build.sh" appliance 2>"$PV_DIR/appliance.log"); then
	eval "$g"
	_tap_report 0 "the appliance guest (qemu-guest-agent) is built"
else
	_tap_report 1 "the appliance guest (qemu-guest-agent) is built"
	tail -5 "$PV_DIR/appliance.log" | sed 's/^/#   /'
	done_testing
fi

# A network of this run's own (segment names are bridges on this host,
# shared with every other test run).
ok "a network of this run" tcli network create capnet$$ --pool pvvx
ok "a business unit" tcli bu create acme$$
ok "its default caps: cpu shares 700, write IOPS 200" tcli caps set acme$$ --cpu-shares 700 --write-iops 200
ok "an offering with a write IOPS cap of 100" tcli template create capped$$ --vcpus 1 --memory 256M --disk 1G --write-iops 100
out=$(tcli caps show --bu acme$$ --template capped$$ -o json)
is "caps show: write IOPS from the offering" "$(jq_ 'j["caps"]["disk_write_iops_sec"]["source"]+" "+str(j["caps"]["disk_write_iops_sec"]["value"])' <<<"$out")" "offering:capped$$ 100"
is "caps show: cpu shares from the BU" "$(jq_ 'j["caps"]["cpu_shares"]["source"]+" "+str(j["caps"]["cpu_shares"]["value"])' <<<"$out")" "bu:acme$$ 700"
is "caps show: read IOPS global" "$(jq_ 'j["caps"]["disk_read_iops_sec"]["source"]+" "+str(j["caps"]["disk_read_iops_sec"]["value"])' <<<"$out")" "global 500"
is "caps show: no NIC cap anywhere" "$(jq_ 'j["caps"]["nic_outbound_kbps"]["source"]' <<<"$out")" "none"
out=$(tcli caps show -o json)
is "without offering or BU: the global write IOPS" "$(jq_ 'j["caps"]["disk_write_iops_sec"]["source"]+" "+str(j["caps"]["disk_write_iops_sec"]["value"])' <<<"$out")" "global 900"
out=$(tcli caps set acme$$ --write-iops -1 -o json)
is "a BU field unset (-1) goes back to the next level" "$(jq_ '"disk_write_iops_sec" in j["caps"]' <<<"$out")" "False"
ok "...and set again" tcli caps set acme$$ --write-iops 200
like "a cap that is not a number is refused" "$(tcli template create bad$$ --vcpus 1 --memory 256M --disk 1G --write-iops -5 2>&1)" "INVALID_ARG"

name=${PV_PREFIX}cap
log=$PV_DIR/$name.serial.log
pv_run vm.provision "name=$name" "kernel=$kernel" "initrd=$initrd" \
	"cmdline=console=ttyS0 quiet" "serial_log=$log" template=capped$$ bu=acme$$ segment=capnet$$ \
	disk_write_iops_sec=99999 cpu_shares=5
state=$(jq_ 'j["state"]' <<<"$PV_OUT" 2>/dev/null)
is "provision of an offering's VM for the BU succeeds" "$state" "succeeded"
[[ $state == succeeded ]] || diag "$(head -20 "$PV_DIR/run.log")"
uuid=$(jq_ 'j["outputs"]["uuid"]' <<<"$PV_OUT" 2>/dev/null)
[[ -n $uuid ]] && pv_track "$name"
show=$(tcli vm show "$name" -o json)
is "vm show: write IOPS 100 from the offering (the caller's 99999 ignored)" \
	"$(jq_ 'str(j["spec"]["caps"]["disk_write_iops_sec"]["value"])+" "+j["spec"]["caps"]["disk_write_iops_sec"]["source"]' <<<"$show")" "100 offering:capped$$"
is "vm show: cpu shares 700 from the BU" \
	"$(jq_ 'str(j["spec"]["caps"]["cpu_shares"]["value"])+" "+j["spec"]["caps"]["cpu_shares"]["source"]' <<<"$show")" "700 bu:acme$$"
is "vm show: read IOPS 500, global" \
	"$(jq_ 'str(j["spec"]["caps"]["disk_read_iops_sec"]["value"])+" "+j["spec"]["caps"]["disk_read_iops_sec"]["source"]' <<<"$show")" "500 global"
is "vm show: NIC bandwidth: none" "$(jq_ 'j["spec"]["caps"]["nic_inbound_kbps"]["source"]' <<<"$show")" "none"
xml=$(virsh -c qemu:///system dumpxml "$name" 2>/dev/null)
like "domain XML: <write_iops_sec>100" "$xml" "<write_iops_sec>100</write_iops_sec>"
like "domain XML: <read_iops_sec>500" "$xml" "<read_iops_sec>500</read_iops_sec>"
like "domain XML: <cputune><shares>700" "$(tr -d ' \n' <<<"$xml")" "<cputune><shares>700</shares></cputune>"
nok "domain XML: no <bandwidth> (no NIC cap)" grep -q "<bandwidth>" <<<"$xml"

# The guest measures: 400 direct 4 KiB writes to its own disk.
ok "the guest boots (its marker)" wait_marker "$log" 90
ga() { virsh -c qemu:///system qemu-agent-command "$name" "$1" --timeout 20 2>&1; }
for _ in $(seq 1 30); do
	ga '{"execute":"guest-ping"}' | grep -q return && break
	sleep 1
done
n=400
cmd="read s r </proc/uptime; dd if=/dev/zero of=/dev/vda bs=4096 count=$n oflag=direct 2>&1; read e r </proc/uptime; echo START=\$s END=\$e"
req=$(python3 -c 'import json,sys; print(json.dumps({"execute":"guest-exec","arguments":{"path":"/bin/sh","arg":["-c",sys.argv[1]],"capture-output":True}}))' "$cmd")
pid=$(ga "$req" | jq_ 'j["return"]["pid"]' 2>/dev/null)
out=
for _ in $(seq 1 60); do
	st=$(ga "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":${pid:-0}}}")
	if [[ $(jq_ 'j["return"]["exited"]' <<<"$st" 2>/dev/null) == True ]]; then
		out=$(jq_ '__import__("base64").b64decode(j["return"].get("out-data","")).decode()' <<<"$st")
		break
	fi
	sleep 1
done
diag "guest: $(tr '\n' ' ' <<<"$out")"
secs=$(python3 - "$out" <<'P'
import re, sys
t = sys.argv[1]
m = re.search(r"START=([\d.]+) END=([\d.]+)", t)
if not m:
    print(""); sys.exit()
print(round(float(m.group(2)) - float(m.group(1)), 2))
P
)
if [[ -n $secs ]]; then
	iops=$(python3 -c "print(round($n / max($secs, 0.001), 1))")
	diag "measured in the guest: $n writes in ${secs}s = $iops IOPS (cap 100)"
	ok "dd oflag=direct in the guest is held under the 100 IOPS cap (+10%): $iops" python3 -c "import sys; sys.exit(0 if $iops <= 110 else 1)"
	ok "...and it is throttled, not idle: at least half the cap" python3 -c "import sys; sys.exit(0 if $iops >= 50 else 1)"
else
	_tap_report 1 "the guest's dd ran and reported (out: $out)"
fi

# A NIC cap this kernel cannot enforce is refused plainly.
ok "an offering with a NIC cap" tcli template create nicky$$ --vcpus 1 --memory 256M --disk 1G --nic-out 1000
pv_run vm.provision "name=${PV_PREFIX}nic" "kernel=$kernel" "initrd=$initrd" template=nicky$$ segment=capnet$$
if modprobe -n act_police 2>/dev/null && modprobe -n sch_sfq 2>/dev/null; then
	skip "provision with a NIC cap" "the kernel has sch_sfq: the NIC cap is enforced here"
else
	is "provision with a NIC cap fails on this kernel" "$(jq_ 'j["state"]' <<<"$PV_OUT")" "failed"
	like "...saying plainly what the host lacks (NOTSUP)" "$(jq_ 'j["error"]' <<<"$PV_OUT")" "NOTSUP: .*the host kernel lacks"
fi
done_testing
