# SPDX-License-Identifier: Apache-2.0
# adapter_lib.sh - what the adapter*.t tests share: two simulated vendor
# arrays (tests/fixtures/vendorsim.py, HTTPS with a certificate made here)
# and credentials for them.  Source after tests/integration/daemon/lib.sh.
#   sim_start NAME DIALECT PASSWORD   starts one; SIM_PORT_<NAME> its port
#   sim_url NAME                      its https:// URL
#   sim_calls NAME [ROUTE]            vendor calls it served (total or one route)
#   sim_post NAME PATH [JSON]         a test hook (/_sim/...)
#   wf_final ID [TENTHS]              waits (60 s) for a workflow to end and
#                                     prints its state
#   adapter_setup WHAT                skips WHAT without translated.so; else
#                                     arrays A (smis, $PW_A) and B (nested,
#                                     $PW_B) and trellisd with the build's plugins
TX_TRANSLATIONS=$TRELLIS_SRC/plugins/storage/translated/translations
SIM_DIR=$TD_DIR/sims
mkdir -p "$SIM_DIR"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$SIM_DIR/key.pem" \
	-out "$SIM_DIR/cert.pem" -days 2 -subj /CN=127.0.0.1 \
	-addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
SIM_CA=$SIM_DIR/cert.pem

sim_start() { # name dialect password
	local n=$1
	printf '%s' "$3" >"$SIM_DIR/$n.pw"
	python3 "$TRELLIS_SRC/tests/fixtures/vendorsim.py" --dialect "$2" \
		--state "$SIM_DIR/$n" --port-file "$SIM_DIR/$n.port" \
		--cert "$SIM_DIR/cert.pem" --key "$SIM_DIR/key.pem" \
		--password-file "$SIM_DIR/$n.pw" 2>>"$SIM_DIR/$n.log" &
	TD_EXTRA_PIDS="${TD_EXTRA_PIDS:-} $!"
	for _ in $(seq 100); do [[ -s $SIM_DIR/$n.port ]] && break; sleep 0.05; done
	printf -v "SIM_PORT_$n" '%s' "$(cat "$SIM_DIR/$n.port")"
}
sim_url() { local v="SIM_PORT_$1"; echo "https://127.0.0.1:${!v}"; }
sim_calls() { # name [route]
	curl -s --cacert "$SIM_CA" "$(sim_url "$1")/_sim/calls" |
		python3 -c "import json,sys; j=json.load(sys.stdin); print(j.get(sys.argv[1], 0))" "${2:-total}"
}
wf_final() { # id [tenths of a second]
	local st=
	for _ in $(seq "${2:-600}"); do
		st=$(tcli workflow status "$1" -o json 2>/dev/null | json 'j["state"]')
		[[ $st == succeeded || $st == failed || $st == cancelled ]] && break
		sleep 0.1
	done
	echo "$st"
}
sim_post() { curl -s --cacert "$SIM_CA" -X POST -d "${3:-{\}}" "$(sim_url "$1")/_sim/$2"; }

PW_A='acme-Pw-4711-xyzzy'
PW_B='cx-Pw-0815-plugh'
adapter_setup() { # what [trellisd args...]
	local what=$1
	shift
	if [[ ! -f $TRELLIS_BUILD/plugins/translated.so ]]; then
		skip "$what" "translated.so not built (libcurl missing?)"
		done_testing
		exit 0
	fi
	sim_start A smis "$PW_A"
	sim_start B nested "$PW_B"
	td_start -P "$TRELLIS_BUILD/plugins" "$@" || { echo "Bail out! trellisd does not start"; exit 1; }
	export TRELLIS_SOCKET=ipc://$TD_DIR/api.sock
}
