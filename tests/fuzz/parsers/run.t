#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 300
# Runs the config, API, API-keys, HTTP-route, link, CIDR, sshd-log (authlog), session, escrow-proof and BMC (Redfish/ipmitool answers) libFuzzer targets for a bounded time each
# (FUZZ_SECONDS, default 20) from small seed corpora.  Builds the fuzz
# build (clang, libFuzzer) first when it is missing or stale.
source "$(dirname "$0")/../../lib/tap.sh"
source "$(dirname "$0")/../../lib/fuzz.sh"
fuzz_begin "fuzz parsers" fuzz_config fuzz_api fuzz_keys fuzz_http fuzz_link \
	fuzz_cidr fuzz_authlog fuzz_session fuzz_proof \
	fuzz_bmc

mkdir -p "$work/config" "$work/api" "$work/keys" "$work/http" "$work/link" "$work/cidr" "$work/authlog" "$work/session" "$work/proof" "$work/bmc"
printf '10.1.1.0/24' >"$work/cidr/1"
printf '198.51.100.2-198.51.100.254' >"$work/cidr/2"
printf '010.1.1.5/032' >"$work/cidr/3"
printf "[512] Dec 04 18:56:22 Child connection from 10.1.2.1:35218\n[512] Dec 04 18:56:24 Password auth succeeded for 'root' from 10.1.2.1:35218\n[512] Dec 04 18:57:00 Exit (root) from <10.1.2.1:35218>: Disconnect received\n" >"$work/authlog/1"
printf 'Dec  4 18:00:01 app sshd[901]: Failed password for invalid user bob from 10.0.0.9 port 40000 ssh2\nDec  4 18:00:02 app sshd[902]: Accepted password for root from 10.0.0.9 port 40002 ssh2\n' >"$work/authlog/2"
printf 'a=1; trellis_session=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ\n{"user":"alice","password":"pw"}' >"$work/session/1"
printf 'trellis_session="x-_y"\n{"key":"trk_0"}' >"$work/session/2"
printf ';;trellis_session\n{"user":1}' >"$work/session/3"
printf '{"@odata.id":"/redfish/v1/Systems/1","PowerState":"On","Actions":{"#ComputerSystem.Reset":{"target":"/redfish/v1/Systems/1/Actions/ComputerSystem.Reset"}}}' >"$work/bmc/1"
printf '{"Members":[{"@odata.id":"/redfish/v1/Systems/1"}],"Members@odata.count":1}' >"$work/bmc/2"
printf 'Chassis Power is off\n' >"$work/bmc/3"
printf 'admin:pa:ss' >"$work/bmc/4"
printf 'GET /api/v1/vms?limit=10&after=3\n' >"$work/http/1"
printf 'POST /api/v1/zones\n{"name":"z1","private":true}' >"$work/http/2"
printf 'DELETE /api/v1/pools/p/volumes/v\n' >"$work/http/3"
printf 'POST /api/v1/workflows/vm.provision/runs\n{"name":"a","memory_mb":"256"}' >"$work/http/4"
printf 'POST /api/v1/ops/host.add\n{"name":"h","cluster":"c"}' >"$work/http/5"
printf 'log:\n  level: debug\nworkers:\n  threads: 4\n' >"$work/config/1.yaml"
printf 'api:\n  max_message: 65536\nplugins:\n  libvirt: {domain_type: qemu}\n' >"$work/config/2.yaml"
printf 'state_dir: [1, 2]\n' >"$work/config/3.yaml"
printf '{"v":1,"op":"zone.create","args":{"name":"z1","private":true,"owner":"t"}}' >"$work/api/1.json"
printf '{"v":1,"op":"host.add","args":{"name":"h","cluster":"c","hypervisor":"libvirt","uri":"test:///default"}}' >"$work/api/2.json"
printf '{"v":1,"op":"vm.list","args":{"limit":100,"offset":"x"}}' >"$work/api/3.json"
printf '# keys\nops %064d\nci %064d expires=1795667701\n' 0 1 >"$work/keys/1"
printf 'a %064d expires=\n\tb\t%s\n' 0 "$(printf 'ab%.0s' $(seq 32))" >"$work/keys/2"

# The link: a HELLO-shaped piece, then true frames in and out of order
# (fuzz_link.c says how pieces are cut), then a CHALLENGE-shaped one.
printf '\x00\x2aTRL1H\x01\x01\x00%032d\x00\x00\x00\x03\xffR\x00\x00\x03\xffR\x01\x00\x03\xffR\x01' 0 >"$work/link/1"
printf '\x00\x78TRL1C\x01\x00\x00%0112d\x00\x1aF%025d' 0 0 >"$work/link/2"
printf '\x00\x00\x00\x03\xffR\x00\x00\x03\xffR\x02\x00\x03\xffR\x00' >"$work/link/3"

printf '%064d\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n{"engineer_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","nonce":"AAAAAAAAAAAAAAAAAAAAAA==","signed_at":1796000000,"signature":"%s"}' 0 "$(head -c 64 /dev/zero | base64 -w0)" >"$work/proof/1"
printf 'ab\nx\n{"engineer_key":1,"signed_at":"x"}' >"$work/proof/2"
for t in config api keys http link cidr authlog session proof bmc; do
	fuzz_run "fuzz_$t" "$work/$t"
done
rm -f /dev/shm/trellis-fuzz-config-* /dev/shm/trellis-fuzz-keys-*
done_testing
