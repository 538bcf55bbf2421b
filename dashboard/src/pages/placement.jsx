// SPDX-License-Identifier: Apache-2.0
// Placement: policy.try from a form: where a VM would go now, or why not
// (the refusal, with each filter's count, in the API's words).
import { useState } from 'preact/hooks';
import * as api from '../api.js';
import { ErrorBox, KV } from '../ui.jsx';

const FIELDS = [
  ['vcpus', 'vCPUs', 'number'], ['memory_mb', 'Memory (MiB)', 'number'], ['disk_gb', 'Disk (GiB)', 'number'],
  ['template', 'Template'], ['zone', 'Zone'], ['pod', 'Pod'], ['cluster', 'Cluster'], ['host', 'Host'],
  ['tenant', 'Business unit'], ['affinity_group', 'Affinity group'], ['anti_affinity_group', 'Anti-affinity group'],
  ['tags', 'Tags (comma-separated)'],
];

export function Placement() {
  const [res, setRes] = useState(null);
  const [err, setErr] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const args = {};
    for (const [k, v] of new FormData(e.target)) {
      if (v === '') continue;
      const f = FIELDS.find((x) => x[0] === k);
      args[k] = k === 'tags' ? v.split(',').map((t) => t.trim()).filter(Boolean) : f && f[2] === 'number' ? Number(v) : v;
    }
    setErr(null);
    setRes(null);
    try { setRes(await api.call('policy.try', args)); } catch (x) { setErr(x); }
  };
  return (
    <>
      <h1>Placement</h1>
      <form class="card form" onSubmit={submit} aria-label="Try a placement">
        {FIELDS.map(([k, label, type]) => <label>{label} <input name={k} type={type || 'text'} /></label>)}
        <button type="submit">Try</button>
      </form>
      <div data-testid="placement-result">
        <ErrorBox err={err} />
        {res && <section class="card"><h2>It would go to {res.host || '?'}</h2><KV obj={res} /></section>}
      </div>
    </>
  );
}
