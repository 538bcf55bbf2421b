#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
# The OpenAPI document that the build generates from the op table
# (core/http/gen) is valid OpenAPI 3 for a real validator
# (@apidevtools/swagger-parser, installed by test.sh with `npm ci` from the
# committed package-lock.json), names every op of the daemon's own
# `api.ops`, and trellisd serves that same document.
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
doc=$TRELLIS_BUILD/share/trellis/openapi.json
ok "the build made openapi.json" test -s "$doc"
if [[ ! -d $here/openapi/node_modules/@apidevtools/swagger-parser ]]; then
	(cd "$here/openapi" && npm ci --no-audit --no-fund >/dev/null 2>&1)
fi
if [[ ! -d $here/openapi/node_modules/@apidevtools/swagger-parser ]]; then
	skip "validate the document" "npm ci failed in tests/integration/http/openapi"
	done_testing
fi
out=$(node "$here/openapi/validate.js" "$doc")
like "a real validator accepts it" "$out" "^valid 3.0.3"
http_start || { echo "Bail out! trellisd does not start"; exit 1; }
ops=$(tcli api ops -o json | json '"\n".join(o["name"] for o in j["items"] if isinstance(j, dict)) if isinstance(j, dict) else "\n".join(o["name"] for o in j)')
n=$(wc -l <<<"$ops")
missing=
for o in $ops; do
	grep -q "^op $o POST /api/v1/ops/$o\$" <<<"$out" || missing+=" $o"
done
is "every one of the daemon's $n ops has its POST /api/v1/ops/{op}" "$missing" ""
like "REST paths name their op: GET /api/v1/vms/{name} is vm.show" "$out" "op vm.show GET /api/v1/vms/\{name\}"
like "... POST /api/v1/workflows/{workflow}/runs is workflow.run" "$out" "op workflow.run POST /api/v1/workflows/\{workflow\}/runs"
curl -s "$URL/api/v1/openapi.json" >"$TD_DIR/served.json"
is "trellisd serves the same document, without a key" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])) == json.load(open(sys.argv[2])))' "$doc" "$TD_DIR/served.json")" "True"
done_testing
