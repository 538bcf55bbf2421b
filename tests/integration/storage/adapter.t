#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 180
# Storage adapters (issue 21) through a real trellisd and the CLI, against
# two simulated vendor arrays of different dialects (tests/fixtures/
# vendorsim.py over HTTPS): credentials (the secret from stdin or a file,
# sealed, never shown), discovery of systems, pools, volumes, ports and
# assignments (an appliance yields all its systems), each vendor option of
# the translation file in its own case (id property and token, trim
# string, pool and view filters by class token and by property, each match
# mode, the minimal file with the defaults), hot reload without a restart,
# FILE:LINE:COL errors, discovery when trellisd starts, and the discovery
# cache (the array counts calls).
source "${TRELLIS_SRC:-$(dirname "$0")/../../..}/tests/lib/tap.sh"
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"

source "$TRELLIS_SRC/tests/integration/storage/adapter_lib.sh"
# the daemon logs everything it can (debug), for the secrets grep at the end
printf 'log: {level: debug}\n' >"$TD_DIR/trellisd.yaml"
adapter_setup "storage adapters" --config "$TD_DIR/trellisd.yaml"

# ---- credentials ----
out=$(printf '%s\n' "$PW_A" | tcli storage credential add acme --module translated \
	--endpoint "$(sim_url A)" --username admin \
	--translation "$TX_TRANSLATIONS/acme-az.yaml" --ca-file "$SIM_CA")
like "credential add reads the secret from stdin" "$out" "name +acme"
like "... and shows only that one is set" "$out" "secret +set"
printf '%s' "$PW_B" >"$TD_DIR/pwB"
like "credential add reads the secret from a file" \
	"$(tcli storage credential add cx --module translated --endpoint "$(sim_url B)" \
		--username admin --secret-file "$TD_DIR/pwB" \
		--translation "$TX_TRANSLATIONS/cx9.yaml" --ca-file "$SIM_CA")" "name +cx"
like "there is no way to give it on the command line" \
	"$(tcli storage credential add x --module translated --endpoint "$(sim_url A)" \
		--username u --secret "$PW_A" 2>&1 </dev/null)" "unknown option --secret"
like "a module that is not loaded is refused" \
	"$(echo pw | tcli storage credential add y --module netapp --endpoint https://x \
		--username u 2>&1)" "NOTFOUND: credential 'y': no storage adapter 'netapp' is loaded"
like "credential list" "$(tcli storage credential list)" "acme +translated +https://127.0.0.1:[0-9]+ +admin"
nok "... never prints a secret" grep -q -- "$PW_A" <<<"$(tcli storage credential list -o json; tcli storage credential show acme -o json)"
key=$TD_DIR/credentials.key
is "the key is in the state dir, mode 0600" "$(stat -c %a "$key")" 600
like "the record (a row of the store) holds the secret sealed" \
	"$(python3 -c 'import sqlite3,sys; print(sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True).execute("SELECT body FROM tr_storage_credential WHERE name = ?", ("acme",)).fetchone()[0])' "$TD_DIR/trellis.db")" \
	'"sealed":'
nok "... not in clear" grep -rqa -- "$PW_A" "$TD_DIR/trellis.db" "$TD_DIR/trellis.db-wal"
like "a duplicate is refused" "$(echo x | tcli storage credential add acme --module translated \
	--endpoint "$(sim_url A)" --username admin 2>&1)" "CONFLICT: credential 'acme' already exists"

# ---- discovery ----
d=$(tcli storage discover acme -o json)
is "discovery: the array's system, id from vendor + model + trimmed serial" \
	"$(json '[s["id"] for s in j["systems"]]' <<<"$d")" "['ACME-AZ-12345']"
is "... its pools, the pool filter keeping the StoragePool class" \
	"$(json '[p["name"] for p in j["pools"]]' <<<"$d")" "['gold']"
is "... its volumes, id from DeviceID token 1" \
	"$(json '[(v["id"], v["name"], v["pool"]) for v in j["volumes"]]' <<<"$d")" "[('0000000900', 'boot-lun', 'P0')]"
is "... a volume already assigned to a host, the view filter keeping LunMasking views" \
	"$(json '[(a["volume"], a["host"], a["initiators"]) for a in j["assignments"]]' <<<"$d")" \
	"[('0000000900', 'esx-01', ['iqn.1998-01.com.vmware:esx-01'])]"
is "... its target ports and the initiators it knows" \
	"$(json 'sorted((p["role"], p["id"]) for p in j["ports"])' <<<"$d")" \
	"[('initiator', 'backend-0'), ('initiator', 'iqn.1998-01.com.vmware:esx-01'), ('target', 'iqn.2026-01.com.acme:az1000.tp0'), ('target', 'iqn.2026-01.com.acme:az1000.tp1')]"
d=$(tcli storage discover cx -o json)
is "an appliance's credential yields all the systems it manages" \
	"$(json '[s["id"] for s in j["systems"]]' <<<"$d")" "['CONEX-SYSTEM-SN2D0042', 'CONEX-SYSTEM-SN2D0043']"
is "... the other dialect's pools, filtered by a property (role: volumes)" \
	"$(json '[(p["name"], p["system"]) for p in j["pools"]]' <<<"$d")" \
	"[('fast', 'CONEX-SYSTEM-SN2D0042'), ('bulk', 'CONEX-SYSTEM-SN2D0043')]"
is "... volumes with the id token 2 of 'CX vol 000900'" \
	"$(json '[(v["id"], v["name"]) for v in j["volumes"]]' <<<"$d")" "[('000900', 'db-1')]"
is "... and the assignment its hostgroup view holds" \
	"$(json '[(a["volume"], a["host"]) for a in j["assignments"]]' <<<"$d")" "[('000900', 'db-host')]"
like "the table view groups what was found" "$(tcli storage discover cx --type systems,pools)" \
	"SYSTEMS.*CONEX-SYSTEM-SN2D0042.*POOLS.*fast"

# ---- discovery at start: trellisd asks every credential's adapter ----
td_stop
td_start -P "$TRELLIS_BUILD/plugins" --config "$TD_DIR/trellisd.yaml" || { echo "Bail out! trellisd does not restart"; exit 1; }
# the credentials are asked at once; each answers in its own time
for _ in $(seq 300); do
	grep -q "storage: credential 'cx'" "$TD_DIR/daemon.log" &&
		grep -q "storage: credential 'acme'" "$TD_DIR/daemon.log" && break
	sleep 0.1
done
like "at start, discovery enumerates systems, pools and volumes, with those already assigned" \
	"$(cat "$TD_DIR/daemon.log")" \
	"storage: credential 'acme' \(credential/acme\): 1 systems, 1 pools, 1 volumes \(1 assigned to hosts\), 4 ports, 1 assignments"
like "... an appliance with all its systems" "$(cat "$TD_DIR/daemon.log")" \
	"storage: credential 'cx' \(credential/cx\): 2 systems, 2 pools, 1 volumes \(1 assigned to hosts\)"

# ---- the cache ----
sim_post A reset-calls >/dev/null
tcli storage discover acme -o json >/dev/null
is "a cached query does not call the vendor again" "$(sim_calls A)" 0
tcli storage discover acme --fresh -o json >/dev/null
ok "--fresh asks the array again" test "$(sim_calls A "GET pools")" -ge 1

# ---- wrong credentials ----
echo 'not-the-password' | tcli storage credential add bad --module translated \
	--endpoint "$(sim_url A)" --username admin --ca-file "$SIM_CA" \
	--translation "$TX_TRANSLATIONS/acme-az.yaml" >/dev/null
like "a wrong password fails cleanly, naming the credential" \
	"$(tcli storage discover bad 2>&1)" "AUTH: .*refused the credential 'bad' \(user 'admin'\): HTTP 401"
like "a session login with a wrong password too" \
	"$(echo nope | tcli storage credential add badcx --module translated --endpoint "$(sim_url B)" \
		--username admin --ca-file "$SIM_CA" --translation "$TX_TRANSLATIONS/cx9.yaml" >/dev/null;
	   tcli storage discover badcx 2>&1)" "AUTH: .*refused the login of 'admin' \(HTTP 401: bad user or password\)"
like "a pool on a wrong credential is not created" \
	"$(tcli pool create pbad --plugin translated --target '*' --option credential=bad 2>&1)" "AUTH"
nok "... nor recorded" tcli pool show pbad
like "a credential of another adapter is refused for a pool" \
	"$(tcli pool create pl --target "$TD_DIR/pl" --option credential=acme 2>&1)" \
	"credential 'acme' is for the storage adapter 'translated', not 'localfs'"

# ---- each vendor option, on one file that the test rewrites (hot reload) ----
F=$TD_DIR/vendor.yaml
echo 'translation: 1' >"$F"
echo "$PW_A" | tcli storage credential add t --module translated --endpoint "$(sim_url A)" \
	--username admin --ca-file "$SIM_CA" --translation "$F" >/dev/null
disc() { tcli storage discover t -o json; }
d=$(disc)
is "minimal file: the defaults (vendor token from the vendor, SYSTEM, IdentifyingNumber)" \
	"$(json '[s["id"] for s in j["systems"]]' <<<"$d")" "['ACMESYSTEMSINC-SYSTEM-12345']"
is "... volume ids from the default property, Name, whole" \
	"$(json '[v["id"] for v in j["volumes"]]' <<<"$d")" "['acme-lun-0000000900']"
is "... no pool filter: every pool" "$(json '[p["name"] for p in j["pools"]]' <<<"$d")" "['gold', 'primordial']"
is "... no view filter: every view" "$(json 'sorted(a["host"] for a in j["assignments"])' <<<"$d")" "['backend', 'esx-01']"

section() { # the section's body lines (indented 4) for a vendor matched by $1
	printf 'translation: 1\nsections:\n  - name: s1\n    match: {vendor: %s}\n' "$1"
	cat
}
sysid() { disc | json '[s["id"] for s in j["systems"]][0]'; }
section '{exact: "Acme Systems Inc."}' >"$F" <<'EOF'
    system_id: {vendor: ACME, model: AZ, serial_from: name}
EOF
is "hot reload: a changed file changes the output, no restart; serial from the name, hex-encoded" \
	"$(sysid)" "ACME-AZ-AZSeries5F12345"
section '{exact: "Acme Systems Inc."}' >"$F" <<'EOF'
    system_id: {vendor: ACME, model: AZ, serial_from: name}
    sys_name_trim: "_"
EOF
is "the trim string drops the serial's prefix" "$(sysid)" "ACME-AZ-12345"
for t in 0 1; do
	section '{exact: "Acme Systems Inc."}' >"$F" <<EOF
    volume_id: {property: DeviceID, token: $t}
EOF
	is "volume id property DeviceID, token $t" "$(disc | json '[v["id"] for v in j["volumes"]]')" \
		"$([[ $t = 0 ]] && echo "['Acme']" || echo "['0000000900']")"
done
section '{exact: "Acme Systems Inc."}' >"$F" <<'EOF'
    volume_id: {property: ConsumableBytes}
EOF
is "volume id from another property, whole" "$(disc | json '[v["id"] for v in j["volumes"]]')" "['1048576']"
section '{exact: "Acme Systems Inc."}' >"$F" <<'EOF'
    pool_filter: {class_token: Primordial}
    view_filter: {class_token: Backend}
EOF
d=$(disc)
is "pool filter by class-name token" "$(json '[p["name"] for p in j["pools"]]' <<<"$d")" "['primordial']"
is "view filter by class-name token" "$(json '[a["host"] for a in j["assignments"]]' <<<"$d")" "['backend']"
section '{exact: "Acme Systems Inc."}' >"$F" <<'EOF'
    pool_filter: {property: Usage, value: data}
    view_filter: {property: Host, value: esx-01}
EOF
d=$(disc)
is "pool filter by property and value" "$(json '[p["name"] for p in j["pools"]]' <<<"$d")" "['gold']"
is "view filter by property and value" "$(json '[a["host"] for a in j["assignments"]]' <<<"$d")" "['esx-01']"
for m in 'exact: "Acme Systems Inc."' 'prefix: "Acme "' 'suffix: "Inc."' 'contains: "Systems"' \
	'regex: "^A[a-z]+ Sys.* Inc\\.$"'; do
	mode=${m%%:*}
	section "{$m}" >"$F" <<EOF
    system_id: {vendor: ${mode^^}}
EOF
	is "match mode $mode picks the section" "$(sysid)" "${mode^^}-SYSTEM-12345"
done
section '{prefix: "Initech"}' >"$F" <<'EOF'
    system_id: {vendor: INITECH}
EOF
is "no section matches: the defaults apply" "$(sysid)" "ACMESYSTEMSINC-SYSTEM-12345"
printf 'translation: 1\nsections:\n  - name: s1\n    match: {vendor: "*", model: {regex: "^AZ[0-9]+$"}}\n    system_id: {vendor: ANY}\n' >"$F"
is "a vendor of '*' matches anything, with a model regex" "$(sysid)" "ANY-SYSTEM-12345"

# ---- errors in a file: FILE:LINE:COL ----
printf 'translation: 1\nsections:\n  - name: s1\n    match: {vendor: "*"}\n    sys_name_trm: "_"\n' >"$F"
d=$(disc)
is "a broken file on reload keeps the previous one" "$(json '[s["id"] for s in j["systems"]][0]' <<<"$d")" "ANY-SYSTEM-12345"
like "... and the log names FILE:LINE:COL with a guess" "$(cat "$TD_DIR/daemon.log")" \
	"$F:5:5: sections\[0\]: unknown key 'sys_name_trm' \(did you mean 'sys_name_trim'\?\)"
G=$TD_DIR/broken.yaml
printf 'translation: 1\ndefaults:\n  ops:\n    pools: {method: FETCH}\n' >"$G"
echo "$PW_A" | tcli storage credential add g --module translated --endpoint "$(sim_url A)" \
	--username admin --ca-file "$SIM_CA" --translation "$G" >/dev/null
like "a broken file at open: the error names FILE:LINE:COL" "$(tcli storage discover g 2>&1)" \
	"INVALID_ARG: $G:4:21: defaults.ops.pools.method: GET, POST, PUT, PATCH or DELETE, not 'FETCH'"
printf 'translation: 2\n' >"$G"
like "... an unknown version" "$(tcli storage discover g 2>&1)" "$G:1:14: translation: version 2 is not known"
printf 'sections: []\n' >"$G"
like "... a missing version" "$(tcli storage discover g 2>&1)" "$G:1:1: the file: 'translation: 1' .* is required"
printf 'translation: 1\nsections:\n  - name: a\n    match: {vendor: {regex: "("}}\n' >"$G"
like "... a bad regex" "$(tcli storage discover g 2>&1)" "$G:4:29: sections\[0\].match: bad regex '\(': "

# ---- nothing leaked the secrets ----
nok "no secret in the daemon's log" grep -q -e "$PW_A" -e "$PW_B" "$TD_DIR/daemon.log"
nok "... nor anywhere in the state dir (store, journal, records)" grep -rqa -e "$PW_A" -e "$PW_B" "$TD_DIR" --exclude-dir=sims --exclude=pwB
td_stop
is "trellisd stops cleanly" "$TD_RC" 0
done_testing
