// SPDX-License-Identifier: Apache-2.0
// Business units: allocations and requests (a dc-admin approves or
// rejects), quotas against use, chargeback per period (the report's own
// lines and totals), utilisation now and over the last days as charts,
// and the audit trail with filters.  A BU's users see their BU's only:
// the API scopes every one of these ops.
import { useState, useMemo } from 'preact/hooks';
import * as api from '../api.js';
import { chargebackView, lastDays, fmtTime } from '../lib.js';
import { useAsync, ErrorBox, State, Act, Loading, Tabs, KV } from '../ui.jsx';
import { Chart } from '../chart.jsx';

function Allocations({ who }) {
  const list = useAsync(() => api.call('allocation.list'), []);
  const [err, setErr] = useState(null);
  const dc = who.scope === 'global';
  const request = async (e) => {
    e.preventDefault();
    const a = {};
    for (const [k, v] of new FormData(e.target)) if (v !== '') a[k] = ['vcpus', 'segments'].includes(k) ? Number(v) : v;
    setErr(null);
    try { await api.call('allocation.request', a); list.reload(); e.target.reset(); } catch (x) { setErr(x); }
  };
  return (
    <section>
      <ErrorBox err={list.err} />
      {!list.data ? <Loading what="allocations" /> : (
        <table class="grid" data-testid="allocations">
          <thead><tr><th>Name</th><th>BU</th><th>State</th><th>vCPUs</th><th>Memory</th><th>Storage</th><th>Zone</th><th /></tr></thead>
          <tbody>{list.data.items.map((a) => (
            <tr data-allocation={a.name}>
              <td>{a.name}</td><td>{a.bu}</td><td><State s={a.state} /></td><td>{a.vcpus ?? '–'}</td>
              <td>{a.memory ?? a.memory_mib ?? '–'}</td><td>{a.storage ?? a.storage_gib ?? '–'}</td><td>{a.zone ?? '–'}</td>
              <td>{dc && a.state === 'requested' && (
                <>
                  <Act onRun={async () => { await api.call('allocation.approve', { name: a.name }); list.reload(); }} label={`approve ${a.name}`}>Approve</Act>
                  <Act danger onRun={async () => { await api.call('allocation.reject', { name: a.name, reason: 'rejected in the dashboard' }); list.reload(); }} label={`reject ${a.name}`}>Reject</Act>
                </>
              )}</td>
            </tr>
          ))}
          {!list.data.items.length && <tr><td colSpan={8} class="muted">No allocations.</td></tr>}</tbody>
        </table>
      )}
      <form class="card form" onSubmit={request} aria-label="Request an allocation">
        <h2>Request an allocation</h2>
        {dc && <label>BU <input name="bu" required /></label>}
        <label>vCPUs <input name="vcpus" type="number" min="0" /></label>
        <label>Memory <input name="memory" placeholder="16G" /></label>
        <label>Storage <input name="storage" placeholder="100G" /></label>
        <label>Pool <input name="pool" /></label>
        <label>Zone <input name="zone" /></label>
        <button type="submit">Request</button>
        <ErrorBox err={err} />
      </form>
    </section>
  );
}

async function bus(who) {
  if (who.scope === 'bu') return [who.bu];
  const r = await api.call('bu.list', { limit: 1000 });
  return r.items.map((b) => b.name);
}

function Quotas({ who }) {
  const q = useAsync(async () => Promise.all((await bus(who)).map((bu) =>
    api.call('quota.show', { bu }).then((r) => ({ bu, r }), (err) => ({ bu, err })))), [who]);
  return (
    <section>
      <ErrorBox err={q.err} />
      {!q.data ? <Loading what="quotas" /> : q.data.map(({ bu, r, err }) => (
        <div class="card" data-bu={bu}><h2>{bu}</h2><ErrorBox err={err} />{r && <KV obj={r} />}</div>
      ))}
    </section>
  );
}

function Chargeback({ who }) {
  const [period, setPeriod] = useState({ from: '', to: '', bu: '' });
  const rep = useAsync(() => api.call('report.chargeback', Object.fromEntries(Object.entries(period).filter(([, v]) => v))), [period]);
  const view = useMemo(() => rep.data && chargebackView(rep.data), [rep.data]);
  const submit = (e) => { e.preventDefault(); setPeriod(Object.fromEntries(new FormData(e.target))); };
  return (
    <section>
      <form class="toolbar" onSubmit={submit} aria-label="Period">
        {who.scope !== 'bu' && <label>BU <input name="bu" /></label>}
        <label>From <input name="from" placeholder="2026-12-01 or unix s" /></label>
        <label>To <input name="to" placeholder="now" /></label>
        <button type="submit">Report</button>
      </form>
      <ErrorBox err={rep.err} />
      {!view ? !rep.err && <Loading what="the report" /> : (
        <>
          <p class="muted">{fmtTime(rep.data.from)} – {fmtTime(rep.data.to)}, {rep.data.currency}</p>
          <table class="grid" data-testid="chargeback-totals">
            <thead><tr><th>BU</th><th>Reservation</th><th>Allocation</th><th>Total</th></tr></thead>
            <tbody>{view.map((b) => (
              <tr data-bu={b.bu}><td>{b.bu}</td><td>{b.reservation}</td><td>{b.allocation}</td><td class="total">{b.total}</td></tr>
            ))}</tbody>
          </table>
          {view.map((b) => (
            <details class="card"><summary>{b.bu}: lines</summary>
              <table class="grid">
                <thead><tr><th>Basis</th><th>Resource</th><th>Quantity</th><th>Unit price</th><th>Amount</th></tr></thead>
                <tbody>{[...(b.lines.reservation || []), ...(b.lines.allocation || [])].map((l) => (
                  <tr><td>{l.basis}</td><td>{l.resource}</td><td>{l.quantity}</td><td>{l.unit_price}</td><td>{l.amount}</td></tr>
                ))}</tbody>
              </table>
            </details>
          ))}
        </>
      )}
    </section>
  );
}

// What each BU used per day: a day's chargeback quantities (unit-hours)
// over 24, the day's average of vCPUs and memory.
async function history(days) {
  const spans = lastDays(days);
  const reps = await Promise.all(spans.map(([from, to]) => api.call('report.chargeback', { from: String(from), to: String(to) })));
  const per = {};
  reps.forEach((r, i) => {
    for (const it of r.items) {
      if (it.basis !== 'allocation' || !['vcpus', 'memory'].includes(it.resource)) continue;
      const k = `${it.bu} ${it.resource}`;
      (per[k] ||= new Array(spans.length).fill(0))[i] = Number(it.quantity) / 24;
    }
  });
  return { x: spans.map(([f]) => f), series: Object.entries(per).map(([label, values]) => ({ label, values })) };
}

function Utilisation() {
  const now = useAsync(() => api.call('report.utilization'), []);
  const hist = useAsync(() => history(14), []);
  return (
    <section>
      <ErrorBox err={now.err} />
      {now.data && (
        <table class="grid" data-testid="utilisation">
          <thead><tr><th>BU</th><th>Resource</th><th>Allocated</th><th>Used</th><th>%</th></tr></thead>
          <tbody>{now.data.items.map((u) => (
            <tr><td>{u.bu}</td><td>{u.resource}</td><td>{u.allocated ?? '–'}</td><td>{u.used}</td><td>{u.percent ?? '–'}</td></tr>
          ))}</tbody>
        </table>
      )}
      <ErrorBox err={hist.err} />
      {hist.data && (hist.data.series.length
        ? <Chart title="Average use per day (last 14 days)" x={hist.data.x} series={hist.data.series} />
        : <p class="muted">No use recorded in the last 14 days.</p>)}
    </section>
  );
}

function Audit() {
  const [f, setF] = useState({});
  const [after, setAfter] = useState([]);
  const a = after.length ? after[after.length - 1] : undefined;
  const list = useAsync(() => api.call('audit.list', { limit: 100, ...f, ...(a ? { after: a } : {}) }), [f, a]);
  const submit = (e) => {
    e.preventDefault();
    setAfter([]);
    setF(Object.fromEntries([...new FormData(e.target)].filter(([, v]) => v)));
  };
  return (
    <section>
      <form class="toolbar" onSubmit={submit} aria-label="Filter the audit trail">
        <label>User <input name="user" /></label>
        <label>BU <input name="bu" /></label>
        <label>Op <input name="op" placeholder="vm.*" /></label>
        <label>Since <input name="since" placeholder="2h" /></label>
        <button type="submit">Filter</button>
      </form>
      <ErrorBox err={list.err} />
      {list.data && (
        <>
          <table class="grid" data-testid="audit">
            <thead><tr><th>#</th><th>At</th><th>User</th><th>BU</th><th>Op</th><th>Object</th><th>Result</th><th>Code</th></tr></thead>
            <tbody>{list.data.items.map((r) => (
              <tr><td>{r.id}</td><td>{fmtTime(r.at)}</td><td>{r.user}</td><td>{r.bu || '–'}</td><td>{r.op}</td>
                <td>{r.object || ''}</td><td><State s={r.result} /></td><td>{r.code || ''}</td></tr>
            ))}</tbody>
          </table>
          <div class="pager">
            <button type="button" disabled={!after.length} onClick={() => setAfter(after.slice(0, -1))}>← Previous</button>
            <button type="button" disabled={list.data.next == null} onClick={() => setAfter([...after, list.data.next])}>Next →</button>
          </div>
        </>
      )}
    </section>
  );
}

export function Bu({ who }) {
  const [tab, setTab] = useState('allocations');
  const T = { allocations: Allocations, quotas: Quotas, chargeback: Chargeback, utilisation: Utilisation, audit: Audit }[tab];
  return (
    <>
      <h1>Business units{who.bu ? `: ${who.bu}` : ''}</h1>
      <Tabs current={tab} onPick={setTab} tabs={[['allocations', 'Allocations'], ['quotas', 'Quotas'],
        ['chargeback', 'Chargeback'], ['utilisation', 'Utilisation'], ['audit', 'Audit']]} />
      <T who={who} />
    </>
  );
}
