# SPDX-License-Identifier: Apache-2.0
# lib.sh - a trellisd with an HTTP listener on a free loopback port, for
# the tests beside this file (after tests/lib/tap.sh).
#   http_start [YAML...]  writes the config (http.listen and any YAML lines
#                         given), makes an API key ($TOKEN) and starts it;
#                         $URL is its base URL
#   hc ARGS...            curl with the key, body to stdout, status last
source "$TRELLIS_SRC/tests/integration/daemon/lib.sh"
HTTP_PORT=$((20000 + RANDOM % 20000))
URL=http://127.0.0.1:$HTTP_PORT
http_start() {
	{
		printf 'http:\n  listen: 127.0.0.1:%s\n' "$HTTP_PORT"
		local l
		for l in "$@"; do printf '  %s\n' "$l"; done
	} >"$TD_DIR/http.yaml"
	[[ -n ${TOKEN:-} ]] || TOKEN=$("$TD_BIN/trellisd" --state-dir "$TD_DIR" \
		--config "$TD_DIR/http.yaml" --api-key-add t 2>/dev/null)
	td_start --config "$TD_DIR/http.yaml"
}
hc() { curl -s -H "Authorization: Bearer $TOKEN" -w ' %{http_code}' "$@"; }
