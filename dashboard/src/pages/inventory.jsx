// SPDX-License-Identifier: Apache-2.0
// Inventory: zones > pods > clusters > hosts with each host's discovered
// capacity and use as bars, and the VMs of the host picked, a page at a
// time (the API pages; 10,000 VMs cost what 100 do).  States follow the
// event stream.
import { useState, useEffect, useMemo } from 'preact/hooks';
import * as api from '../api.js';
import { buildTree, filterTree, hostUse, fmtBytes, debounce } from '../lib.js';
import { useAsync, ErrorBox, Bar, State, Loading } from '../ui.jsx';

function mark(name) {
  if (!performance.getEntriesByName(name).length) performance.mark(name);
}

async function all(op, args = {}) {
  const items = [];
  let after;
  for (;;) {
    const r = await api.call(op, { ...args, limit: 1000, ...(after ? { after } : {}) });
    items.push(...r.items);
    if (r.next == null) return items;
    after = r.next;
  }
}

export async function loadInventory(scoped) {
  if (scoped) return { zones: [], pods: [], clusters: [], hosts: [] };
  const [zones, pods, clusters, hosts] = await Promise.all(
    ['zone.list', 'pod.list', 'cluster.list', 'host.list'].map((op) => all(op)));
  return { zones, pods, clusters, hosts };
}

function HostRow({ node, pick, picked }) {
  const h = node.obj;
  const u = hostUse(h);
  return (
    <li class={`host ${picked ? 'picked' : ''}`}>
      <button type="button" class="link" onClick={() => pick(h.name)} aria-pressed={picked}>{h.name}</button>
      <State s={h.state} />
      <span class="cap">
        <Bar used={u.memUsed} total={u.memTotal} title={`memory of ${h.name}`}
          label={u.memTotal ? `mem ${fmtBytes(u.memUsed)} / ${fmtBytes(u.memTotal)}` : 'mem unknown'} />
        <span class="muted">{u.cpus ?? '?'} CPUs · {h.hypervisor}</span>
      </span>
      {h.error && <span class="error-inline">{h.error}</span>}
    </li>
  );
}

function Node({ node, pick, picked }) {
  if (node.kind === 'host') return <HostRow node={node} pick={pick} picked={picked === node.name} />;
  return (
    <li>
      <details open>
        <summary><span class="kind">{node.kind}</span> {node.name} <span class="muted">({node.children.length})</span></summary>
        <ul>{node.children.map((c) => <Node node={c} pick={pick} picked={picked} />)}</ul>
      </details>
    </li>
  );
}

// A page of VMs (vm.list), with search and keyset paging.
export function VmTable({ host, query, live = true }) {
  const [q, setQ] = useState(query || '');
  const [stack, setStack] = useState([]); // the "after" of each page before
  const [rows, setRows] = useState(null);
  const after = stack.length ? stack[stack.length - 1] : undefined;
  const { data, err, reload } = useAsync(() => api.call('vm.list', {
    limit: 100, ...(host ? { host } : {}), ...(q ? { match: q } : {}), ...(after ? { after } : {}),
  }), [host, q, after]);
  useEffect(() => setRows(data ? data.items : null), [data]);
  // For tests/bench/dashboard: when the first page of VMs is on screen.
  useEffect(() => { if (rows) mark('trellis:vms'); }, [rows]);
  useEffect(() => setStack([]), [host, q]);
  useEffect(() => {
    if (!live) return undefined;
    const again = debounce(reload, 400);
    return api.subscribe(['vm.', 'workflow.finished'], (topic, ev) => {
      if (topic === 'vm.state' && ev.uuid && ev.state) {
        setRows((rs) => rs && rs.map((r) => (r.uuid === ev.uuid ? { ...r, state: ev.state } : r)));
      } else again();
    });
  }, [reload, live]);
  const search = useMemo(() => debounce((v) => setQ(v), 250), []);
  return (
    <section aria-label="VMs">
      <div class="toolbar">
        <label>Search VMs <input type="search" value={q} onInput={(e) => search(e.target.value)} placeholder="name contains…" /></label>
      </div>
      <ErrorBox err={err} />
      {!rows ? <Loading what="VMs" /> : (
        <table class="grid" data-testid="vm-table">
          <thead><tr><th>Name</th><th>State</th><th>Host</th><th>vCPUs</th><th>Memory</th><th>BU</th></tr></thead>
          <tbody>
            {rows.map((v) => (
              <tr key={v.uuid}>
                <td><a href={`#/vms/${encodeURIComponent(v.name)}`}>{v.name}</a></td>
                <td><State s={v.state} /></td>
                <td>{v.host}</td>
                <td>{v.vcpus}</td>
                <td>{v.memory_mib != null ? fmtBytes(v.memory_mib * 1048576) : '–'}</td>
                <td>{v.tenant || '–'}</td>
              </tr>
            ))}
            {!rows.length && <tr><td colSpan={6} class="muted">No VMs{q ? ` whose name holds “${q}”` : ''}.</td></tr>}
          </tbody>
        </table>
      )}
      <div class="pager">
        <button type="button" disabled={!stack.length} onClick={() => setStack(stack.slice(0, -1))}>← Previous</button>
        <span class="muted">page {stack.length + 1}</span>
        <button type="button" disabled={!data || data.next == null} onClick={() => setStack([...stack, data.next])}>Next →</button>
      </div>
    </section>
  );
}

// What placement has claimed on a host (policy.claims): its VMs' and
// running provisions' vCPUs and memory against the host's.
function HostClaims({ host }) {
  const claims = useAsync(() => api.call('policy.claims', { host: host.name }), [host.name]);
  useEffect(() => api.subscribe(['workflow.finished'], debounce(claims.reload, 500)), [claims.reload]);
  if (claims.err) return <ErrorBox err={claims.err} />;
  if (!claims.data) return <Loading what="claims" />;
  const u = hostUse(host, claims.data.items);
  return (
    <section class="card" data-testid="host-claims" aria-label={`claims on ${host.name}`}>
      <h2>{host.name}: placement claims ({claims.data.items.length})</h2>
      <div class="toolbar">
        <Bar used={u.vcpusClaimed} total={u.cpus} title="vCPUs claimed" label={`vCPUs ${u.vcpusClaimed} / ${u.cpus ?? '?'}`} />
        <Bar used={u.memClaimed} total={u.memTotal} title="memory claimed" label={`mem ${fmtBytes(u.memClaimed)} / ${fmtBytes(u.memTotal)}`} />
      </div>
    </section>
  );
}

export function Inventory({ who }) {
  const scoped = who.scope === 'bu';
  const inv = useAsync(() => loadInventory(scoped), [scoped]);
  const [filter, setFilter] = useState('');
  const [host, setHost] = useState(null);
  useEffect(() => {
    if (scoped) return undefined;
    const again = debounce(inv.reload, 500);
    return api.subscribe(['host.', 'zone.', 'pod.', 'cluster.'], again);
  }, [inv.reload, scoped]);
  const tree = useMemo(() => inv.data && filterTree(buildTree(inv.data.zones, inv.data.pods,
    inv.data.clusters, inv.data.hosts), filter), [inv.data, filter]);
  useEffect(() => { if (tree) mark('trellis:tree'); }, [tree]);
  return (
    <>
      <h1>Inventory</h1>
      {!scoped && (
        <section aria-label="Zones, pods, clusters and hosts">
          <div class="toolbar">
            <label>Filter hosts <input type="search" value={filter} onInput={(e) => setFilter(e.target.value)} /></label>
            {host && <button type="button" class="ghost" onClick={() => setHost(null)}>All hosts' VMs</button>}
          </div>
          <ErrorBox err={inv.err} />
          {!tree ? <Loading what="the inventory" /> : (
            <ul class="tree" data-testid="tree">
              {tree.map((n) => <Node node={n} pick={setHost} picked={host} />)}
              {!tree.length && <li class="muted">Nothing yet: trellis zone create, host add.</li>}
            </ul>
          )}
        </section>
      )}
      {host && inv.data && inv.data.hosts.find((h) => h.name === host) && (
        <HostClaims host={inv.data.hosts.find((h) => h.name === host)} />
      )}
      <h2>{host ? `VMs on ${host}` : 'VMs'}</h2>
      <VmTable host={host} />
    </>
  );
}
