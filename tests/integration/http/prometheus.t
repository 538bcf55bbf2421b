#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# trellis-timeout: 120
# /metrics in the Prometheus text format, scraped by the real prometheus
# server (Debian's): a short-lived instance with a scrape config pointing
# at the test daemon; the series are read back through its query API.
source "$TRELLIS_SRC/tests/lib/tap.sh"
source "$(dirname "$0")/lib.sh"
if ! command -v prometheus >/dev/null; then
	skip "prometheus scrape" "prometheus is not installed (tools/deps/http.txt)"
	done_testing
fi
http_start "timeout: 5s" || { echo "Bail out! trellisd does not start"; exit 1; }
hc -H 'Content-Type: application/json' -d '{"name":"z1"}' "$URL/api/v1/zones" >/dev/null
hc "$URL/api/v1/vms/nope" >/dev/null
hc "$URL/api/v1/vms/nope" >/dev/null
# A host (plugin calls) and a workflow with a step that succeeds and a
# placement that fails (test:///default's own domain leaves no memory: a
# refusal by the capacity filter).
tcli pod create p1 --zone z1 >/dev/null && tcli cluster create c1 --pod z1/p1 >/dev/null &&
	tcli host add h1 --cluster z1/p1/c1 --uri test:///default >/dev/null
cat >"$TD_DIR/place.yaml" <<-Y
	workflow: sleep-place
	version: 1
	steps:
	  - {id: nap, call: core.sleep, with: {duration: 10ms}}
	  - {id: huge, call: policy.place, needs: nap, with: {vcpus: 1, memory_mb: 4096}}
Y
tcli workflow run "$TD_DIR/place.yaml" --wait >/dev/null 2>&1

m=$(curl -s -w '\n%{http_code} %{content_type}' "$URL/metrics")
like "/metrics without a key on loopback: text format 0.0.4" "$m" "200 text/plain; version=0.0.4"
like "API requests by op and result" "$m" 'trellis_api_requests_total\{op="vm.show",result="NOTFOUND"\} 2'
like "latency histograms" "$m" 'trellis_api_request_duration_seconds_bucket\{op="zone.create",le="\+Inf"\} 1'
like "VMs, hosts and workflow instances by state" "$m" "# TYPE trellis_vms gauge"
like "process RSS" "$m" "process_resident_memory_bytes [1-9][0-9]*"
like "plugin op calls by plugin, op and result" "$m" 'trellis_plugin_calls_total\{plugin="libvirt",op="host_info",result="ok"\} [1-9]'
like "plugin op latency" "$m" 'trellis_plugin_call_seconds_count\{plugin="libvirt",op="host_info"\} [1-9]'
like "workflow step durations by action and result" "$m" 'trellis_workflow_step_seconds_count\{action="core.sleep",result="ok"\} 1'
like "...and a failed step" "$m" 'trellis_workflow_step_seconds_count\{action="policy.place",result="error"\} [1-9]'
like "placement latency by result" "$m" 'trellis_placement_seconds_count\{result="NOSPACE"\} [1-9]'
like "placement refusals by filter" "$m" 'trellis_placement_refusals_total\{filter="capacity"\} 1'

like "open descriptors" "$m" "process_open_fds [1-9][0-9]*"

pport=$((HTTP_PORT + 1))
pd=$TD_DIR/prom
mkdir -p "$pd"
cat >"$pd/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: trellisd
    static_configs: [{targets: ["127.0.0.1:$HTTP_PORT"]}]
YML
prometheus --config.file="$pd/prometheus.yml" --storage.tsdb.path="$pd/data" \
	--web.listen-address="127.0.0.1:$pport" >"$pd/log" 2>&1 &
ppid=$!
TD_EXTRA_PIDS=$ppid
q() { curl -s --data-urlencode "query=$1" "http://127.0.0.1:$pport/api/v1/query"; }
got=
for _ in $(seq 1 100); do
	got=$(q 'trellis_api_requests_total{op="vm.show"}')
	[[ $got == *'"NOTFOUND"'* ]] && break
	sleep 0.3
done
like "prometheus scraped the API counters" "$got" '"result":\[\{"metric":\{"__name__":"trellis_api_requests_total".*"op":"vm.show","result":"NOTFOUND"\},"value":\[[0-9.]+,"2"\]'
like "the target is up" "$(q 'up{job="trellisd"}')" '"value":\[[0-9.]+,"1"\]'
like "a histogram quantile over the latency" \
	"$(q 'histogram_quantile(0.99, sum by (le) (trellis_api_request_duration_seconds_bucket))')" '"resultType":"vector","result":\[\{"metric":\{\},"value":\[[0-9.]+,"[0-9.e-]+"\]'
like "process_open_fds reached prometheus" "$(q process_open_fds)" '"value":\[[0-9.]+,"[1-9][0-9]*"\]'
kill "$ppid" 2>/dev/null
wait "$ppid" 2>/dev/null
td_stop

# Off loopback, /metrics takes an API key unless told otherwise.
http_start "metrics_auth: true" || { echo "Bail out! trellisd does not start"; exit 1; }
like "metrics_auth: true: no key, 401" "$(curl -s -w ' %{http_code}' "$URL/metrics")" " 401$"
like "... with the key, 200" "$(hc "$URL/metrics" | tail -c 4)" "200"
done_testing
