# SPDX-License-Identifier: Apache-2.0
# tests/integration/agent/lib.sh - a private site for the agent tests
# (site.t, site_plugins.t, multi_site.t): a network namespace whose only
# way out is a veth to the core's side, behind nftables that drop every
# inbound connection (counted).  Needs tcli and jq_ from the test.
#   site_up NS VA VB CORE_IP SITE_IP [OUTPUT-RULES]
#       makes NS with VB (SITE_IP/30) and VA on this side (CORE_IP/30);
#       table inet trsite with counters inbound_new, outbound_new,
#       first_blocked; OUTPUT-RULES go in its output chain
#   site_counter NS NAME       a counter's packets
#   agent_connected NAME [TENTHS]   waits until the core sees NAME's link up
#   site_segments_del VNI      removes the bridges (and their ports) of
#       the VNIs VNI..VNI+3 that a test's segments made here

site_up() {
	local ns=$1 va=$2 vb=$3 core_ip=$4 site_ip=$5 rules=${6:-}
	ip netns add "$ns" || return 1
	ip link add "$va" type veth peer name "$vb" || return 1
	ip link set "$vb" netns "$ns"
	ip addr add "$core_ip/30" dev "$va"
	ip link set "$va" up
	ip -n "$ns" addr add "$site_ip/30" dev "$vb"
	ip -n "$ns" link set "$vb" up
	ip -n "$ns" link set lo up
	ip netns exec "$ns" nft -f - <<NFT
table inet trsite {
	counter inbound_new {}
	counter outbound_new {}
	counter first_blocked {}
	chain input {
		type filter hook input priority 0; policy drop;
		iif lo accept
		ct state established,related accept
		ct state new counter name inbound_new drop
	}
	chain output {
		type filter hook output priority 0; policy accept;
		$rules
	}
}
NFT
}

site_counter() {
	ip netns exec "$1" nft list counter inet trsite "$2" | awk '/packets/{print $2}'
}

agent_connected() {
	local i
	for i in $(seq 1 "${2:-150}"); do
		[[ $(tcli -o json agent show "$1" 2>/dev/null | jq_ "j['link']['connected']") == True ]] && return 0
		sleep 0.1
	done
	return 1
}

site_segments_del() {
	local i t
	for ((i = $1; i < $1 + 4; i++)); do
		for t in $(ls "/sys/class/net/tr-bx$i/brif" 2>/dev/null); do ip link del "$t" 2>/dev/null; done
		ip link del "tr-bx$i" 2>/dev/null
		ip link del "tr-x$i" 2>/dev/null
	done
}
