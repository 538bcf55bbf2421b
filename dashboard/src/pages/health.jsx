// SPDX-License-Identifier: Apache-2.0
// Health: the daemon, its plugins (state, and why one was refused), its
// hosts, console proxies and agents, and a few figures charted live from api.status (requests per
// second, requests in flight, refusals).
import { useState, useEffect } from 'preact/hooks';
import * as api from '../api.js';
import { fmtTime } from '../lib.js';
import { useAsync, ErrorBox, State, Loading, KV } from '../ui.jsx';
import { Chart } from '../chart.jsx';

const KEEP = 60; // samples (2 s apart)

function Live() {
  const [s, setS] = useState({ x: [], rps: [], inflight: [], refused: [], last: null, err: null });
  useEffect(() => {
    let gone = false;
    const tick = async () => {
      try {
        const st = await api.call('daemon.status');
        const t = Date.now() / 1000;
        if (gone) return;
        setS((p) => {
          const rps = p.last ? (st.api.requests - p.last.api.requests) / Math.max(0.001, t - p.lastT) : 0;
          const cut = (a, v) => [...a, v].slice(-KEEP);
          return { x: cut(p.x, t), rps: cut(p.rps, rps), inflight: cut(p.inflight, st.inflight),
            refused: cut(p.refused, st.api.refused), last: st, lastT: t, err: null };
        });
      } catch (err) { if (!gone) setS((p) => ({ ...p, err })); }
    };
    tick();
    const t = setInterval(tick, 2000);
    return () => { gone = true; clearInterval(t); };
  }, []);
  return (
    <section class="card">
      <h2>The daemon</h2>
      <ErrorBox err={s.err} />
      {s.last && <KV obj={{ version: s.last.version, pid: s.last.pid, uptime_s: s.last.uptime_s, plugins: s.last.plugins, schema: s.last.schema, inflight: s.last.inflight, ...s.last.api }} />}
      {s.x.length > 1 && (
        <Chart title="API requests per second, in flight, refused" x={s.x}
          series={[{ label: 'req/s', values: s.rps }, { label: 'in flight', values: s.inflight }, { label: 'refused (total)', values: s.refused }]} />
      )}
    </section>
  );
}

export function Health({ who }) {
  const dc = who.scope === 'global';
  const plugins = useAsync(() => (dc ? api.call('plugin.list') : Promise.resolve(null)), [dc]);
  const agents = useAsync(() => (dc ? api.call('agent.list') : Promise.resolve(null)), [dc]);
  const hosts = useAsync(() => (dc ? api.call('host.list', { limit: 1000 }) : Promise.resolve(null)), [dc]);
  const proxies = useAsync(() => (dc ? api.call('consoleproxy.list') : Promise.resolve(null)), [dc]);
  const failed = useAsync(() => api.call('workflow.list', { state: 'failed', limit: 10 }), []);
  return (
    <>
      <h1>Health</h1>
      <Live />
      {dc && (
        <div class="cols">
          <section class="card"><h2>Plugins</h2><ErrorBox err={plugins.err} />
            {!plugins.data ? <Loading what="plugins" /> : (
              <table class="grid" data-testid="plugins"><thead><tr><th>Plugin</th><th>Kind</th><th>State</th><th>Version</th><th>Reason</th></tr></thead>
                <tbody>{plugins.data.items.map((p) => (
                  <tr><td>{p.name}</td><td>{p.kind}</td><td><State s={p.state} /></td><td>{p.version}</td><td class="err">{p.reason || p.error || ''}</td></tr>
                ))}</tbody></table>
            )}
          </section>
          <section class="card"><h2>Hosts (managers)</h2><ErrorBox err={hosts.err} />
            {hosts.data && (
              <table class="grid"><thead><tr><th>Host</th><th>Hypervisor</th><th>State</th><th>Refreshed</th><th>Error</th></tr></thead>
                <tbody>{hosts.data.items.map((h) => (
                  <tr><td>{h.name}</td><td>{h.hypervisor}</td><td><State s={h.state} /></td><td>{fmtTime(h.refreshed_at)}</td><td class="err">{h.error || ''}</td></tr>
                ))}</tbody></table>
            )}
          </section>
          <section class="card"><h2>Console proxies</h2><ErrorBox err={proxies.err} />
            {proxies.data && (proxies.data.items.length ? (
              <table class="grid" data-testid="proxies"><thead><tr><th>Proxy</th><th>URL</th><th>State</th><th>Sessions</th><th>Capacity</th><th>Reported</th></tr></thead>
                <tbody>{proxies.data.items.map((p) => (
                  <tr><td>{p.name}</td><td>{p.url}</td><td><State s={p.state} /></td><td>{p.sessions}</td><td>{p.capacity}</td><td>{fmtTime(p.reported_at)}</td></tr>
                ))}</tbody></table>
            ) : <p class="muted">No console proxy reports.</p>)}
          </section>
          <section class="card"><h2>Agents</h2><ErrorBox err={agents.err} />
            {agents.data && (agents.data.items.length ? (
              <table class="grid"><thead><tr><th>Agent</th><th>Zone</th><th>Link</th></tr></thead>
                <tbody>{agents.data.items.map((a) => (
                  <tr><td>{a.name}</td><td>{a.zone}</td><td><State s={a.link || a.state} /></td></tr>
                ))}</tbody></table>
            ) : <p class="muted">No agents enrolled.</p>)}
          </section>
        </div>
      )}
      <section class="card"><h2>Recent failed runs</h2><ErrorBox err={failed.err} />
        {failed.data && (failed.data.items.length ? (
          <ul>{failed.data.items.map((r) => <li><a href={`#/runs/${r.id}`}>{r.id}</a> {r.workflow}: {r.error}</li>)}</ul>
        ) : <p class="muted">None.</p>)}
      </section>
    </>
  );
}
