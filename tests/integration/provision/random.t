#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 900
# Issue 14's randomized check on a real trellisd, libvirtd and QEMU: 50
# provisions and destroys over six colliding names, three at a time, with
# a wrong uuid and name paired, and with claims left out.  Whatever the
# mix, at the end every surviving VM's disk and tap exist and are its own,
# no claim is orphaned, and virsh, the pool directory and ip link agree
# with the store.  RANDOM_SEED=N replays a run (the seed is printed).
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/lib.sh"
lv_require
pv_start

seed=${RANDOM_SEED:-$(( $(date +%s) % 100000 ))}
diag "seed $seed (RANDOM_SEED=$seed replays it)"
RANDOM=$seed
names=()
for i in 0 1 2 3 4 5; do names+=("${PV_PREFIX}r$i"); done
pool=$PV_DIR/pool
mkdir -p "$PV_DIR/ops"

# The uuid of VM $1, or (no such VM) a uuid nobody has: a wrong one.
uuid_of() {
	local u
	u=$(tcli -o json vm show "$1" 2>/dev/null | jq_ 'j["uuid"]' 2>/dev/null)
	echo "${u:-00000000-0000-4000-8000-$(printf '%012d' $RANDOM)}"
}

# One operation in the background; its outcome in ops/N.
op() {
	local n=$1 kind=$2 x=$3 y=$4
	local args=()
	case $kind in
	provision) args=(vm.provision --input "name=$x" --input memory_mb=64 --input "segment=$PV_NET" --input blank=true) ;;
	destroy) args=(vm.destroy --input "vm=$x") ;;
	pair) args=(vm.destroy --input "uuid=$(uuid_of "$x")" --input "name=$y" --input pool=pvpool) ;;
	noclaim) args=(vm.destroy --input "uuid=$(uuid_of "$x")" --input host=pvh) ;;
	esac
	tcli --timeout 600000 -o json workflow run "${args[@]}" --wait \
		>"$PV_DIR/ops/$n.out" 2>&1
	echo "$kind $x $y $(sed -n '/^{/,$p' "$PV_DIR/ops/$n.out" | jq_ 'j["state"] + " " + str(j.get("failed_step"))' 2>/dev/null)" \
		>"$PV_DIR/ops/$n.res"
}

total=50
n=0
bad_pair=0
while ((n < total)); do
	pids=()
	for k in 1 2 3; do
		((n < total)) || break
		x=${names[RANDOM % 6]}
		y=${names[RANDOM % 6]}
		r=$((RANDOM % 100))
		if ((r < 50)); then kind=provision
		elif ((r < 70)); then kind=destroy
		elif ((r < 85)); then kind=pair
		else kind=noclaim
		fi
		op "$n" "$kind" "$x" "$y" &
		pids+=($!)
		n=$((n + 1))
	done
	wait "${pids[@]}"
done
for ((k = 0; k < total; k++)); do
	read -r kind x y state step <"$PV_DIR/ops/$k.res" || true
	# A uuid paired with another VM's name never succeeds.
	if [[ $kind == pair && $x != "$y" && $state == succeeded ]]; then
		bad_pair=$((bad_pair + 1))
		diag "op $k: $kind $x $y succeeded"
	fi
done
diag "outcomes: $(cat "$PV_DIR"/ops/*.res | cut -d' ' -f1,4 | sort | uniq -c | tr -s ' \n' ' ,')"
is "no destroy with one VM's uuid and another's name succeeded" "$bad_pair" "0"

# The store's view.
vms=$(tcli -o json vm list --limit 1000 | jq_ '"\n".join(v["name"] + " " + v["uuid"] for v in j["items"] if v["name"].startswith("'"$PV_PREFIX"'"))')
store_names=$(awk 'NF {print $1}' <<<"$vms" | sort)
diag "surviving VMs: $(tr '\n' ' ' <<<"$store_names")"
is "no name is recorded twice" "$(uniq -d <<<"$store_names")" ""
is "virsh has exactly the store's VMs" \
	"$(virsh -c qemu:///system list --all --name | grep "^$PV_PREFIX" | sort)" "$store_names"
is "the pool has exactly their disks" \
	"$(ls "$pool" | sort)" "$(awk 'NF {print $1 "-root"}' <<<"$vms" | sort)"
is "ip link has exactly their ports" \
	"$(ip -d -o link show | grep -o "alias trellis port=${PV_PREFIX}[^ ]*" | sed 's/.*port=//' | sort)" \
	"$(awk 'NF {print $1 "-nic0"}' <<<"$vms" | sort)"
mismatch=0
while read -r name uuid; do
	[[ -n $name ]] || continue
	xml=$(virsh -c qemu:///system dumpxml "$uuid" 2>&1)
	grep -q "<name>$name</name>" <<<"$xml" || { mismatch=1; diag "$name: domain $uuid has another name"; }
	grep -q "<source file='$pool/$name-root'" <<<"$xml" || { mismatch=1; diag "$name: not its own disk"; }
	tap=$(grep -o "<target dev='tr-t[^']*'" <<<"$xml" | cut -d"'" -f2)
	alias=$(ip -d -o link show "$tap" 2>/dev/null | grep -o "port=[^ ]*")
	[[ $alias == "port=$name-nic0" ]] || { mismatch=1; diag "$name: tap '$tap' is '$alias'"; }
done <<<"$vms"
is "each VM's domain, disk and tap are its own" "$mismatch" "0"
claims=$(tcli -o json policy claims | jq_ '"\n".join(c["owner"] + " " + c["owner_state"] for c in j["items"])')
is "every claim is owned by a live owner" "$(grep -v '^$' <<<"$claims" | grep -vc ' live$' || true)" "0"
is "there is one claim per VM, owned by it" \
	"$(awk 'NF {print $1}' <<<"$claims" | sort)" \
	"$(awk 'NF {print "vm:" $2}' <<<"$vms" | sort)"

# And they all go the normal way.
while read -r name uuid; do
	[[ -n $name ]] && pv_run vm.destroy "vm=$name"
done <<<"$vms"
is "after destroying them all no claim is left" "$(tcli -o json policy claims | jq_ 'len(j["items"])')" "0"
is "...no disk" "$(ls "$pool" | wc -l)" "0"
is "...and no domain" "$(virsh -c qemu:///system list --all --name | grep -c "^$PV_PREFIX")" "0"

done_testing
