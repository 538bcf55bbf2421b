#!/bin/bash
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

m=$(curl -s -w '\n%{http_code} %{content_type}' "$URL/metrics")
like "/metrics without a key on loopback: text format 0.0.4" "$m" "200 text/plain; version=0.0.4"
like "API requests by op and result" "$m" 'trellis_api_requests_total\{op="vm.show",result="NOTFOUND"\} 2'
like "latency histograms" "$m" 'trellis_api_request_duration_seconds_bucket\{op="zone.create",le="\+Inf"\} 1'
like "VMs, hosts and workflow instances by state" "$m" "# TYPE trellis_vms gauge"
like "process RSS" "$m" "process_resident_memory_bytes [1-9][0-9]*"
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
