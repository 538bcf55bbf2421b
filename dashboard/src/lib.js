// SPDX-License-Identifier: Apache-2.0
// The dashboard's pure functions: no DOM, no fetch, so node's test runner
// checks them (test/lib.test.js).  Errors in the API's own words, the
// inventory tree, capacity, the DAG's colours, chargeback sums, routes.

// An API error as lines to show: "CODE: message" first, then what its
// details say (a workflow's FILE:LINE:COL errors, placement's refusals
// per filter, the children that block a delete), never a paraphrase.
export function errorLines(err) {
  if (!err) return [];
  const code = err.code || 'ERROR';
  const lines = [`${code}: ${err.message || String(err)}`];
  const d = err.details;
  if (d && typeof d === 'object') {
    if (Array.isArray(d.errors)) for (const e of d.errors) lines.push(String(e));
    if (Array.isArray(d.removed)) {
      for (const r of d.removed)
        lines.push(`${r.filter} removed ${r.count}${r.reason ? ` (${r.reason})` : ''}`);
    }
    if (Array.isArray(d.children)) lines.push(`children: ${d.children.join(', ')}`);
    for (const [k, v] of Object.entries(d)) {
      if (['errors', 'removed', 'children'].includes(k)) continue;
      lines.push(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
    }
  }
  return lines;
}

// Zones > pods > clusters > hosts, from the four lists (pods name their
// zone, clusters "zone/pod", hosts "zone/pod/cluster").
export function buildTree(zones, pods, clusters, hosts) {
  const byPath = new Map();
  const roots = zones.map((z) => {
    const n = { kind: 'zone', name: z.name, path: z.name, obj: z, children: [] };
    byPath.set(n.path, n);
    return n;
  });
  const attach = (kind, list, parentOf, pathOf) => {
    for (const o of list) {
      const n = { kind, name: o.name, path: pathOf(o), obj: o, children: [] };
      byPath.set(n.path, n);
      const parent = byPath.get(parentOf(o));
      if (parent) parent.children.push(n);
    }
  };
  attach('pod', pods, (p) => p.zone, (p) => `${p.zone}/${p.name}`);
  attach('cluster', clusters, (c) => c.pod, (c) => `${c.pod}/${c.name}`);
  attach('host', hosts, (h) => h.cluster, (h) => `${h.cluster}/${h.name}`);
  return roots;
}

// Walks a tree: every node whose name (or a descendant's) holds q.
export function filterTree(roots, q) {
  if (!q) return roots;
  const needle = q.toLowerCase();
  const keep = (n) => {
    const kids = n.children.map(keep).filter(Boolean);
    if (n.name.toLowerCase().includes(needle) || kids.length) return { ...n, children: kids };
    return null;
  };
  return roots.map(keep).filter(Boolean);
}

// A host's discovered capacity and use: memory from the hypervisor's own
// figures, CPUs as the host reports them; claims (placement's) when known.
export function hostUse(h, claims) {
  const memTotal = h.memory_kib ? h.memory_kib * 1024 : null;
  const memUsed = memTotal != null && h.free_memory_kib != null
    ? memTotal - h.free_memory_kib * 1024 : null;
  const out = { cpus: h.cpus ?? null, memTotal, memUsed, vcpusClaimed: null, memClaimed: null };
  if (claims) {
    out.vcpusClaimed = claims.reduce((a, c) => a + (c.vcpus || 0), 0);
    out.memClaimed = claims.reduce((a, c) => a + (c.memory_mib || 0), 0) * 1048576;
  }
  return out;
}

export function percent(used, total) {
  if (used == null || !total) return null;
  return Math.max(0, Math.min(100, Math.round((used / total) * 1000) / 10));
}

export function fmtBytes(n) {
  if (n == null) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${u[i]}`;
}

export function fmtDuration(ms) {
  if (ms == null) return '–';
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s % 60)} s`;
}

// Unix seconds or milliseconds (the journal's) as local date and time.
export function fmtTime(t) {
  if (t == null) return '–';
  const ms = t > 1e11 ? t : t * 1000;
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

// A step's state as the DAG shows it: its undo's when it was undone.
export function stepStates(logs) {
  const out = {};
  for (const s of (logs && logs.steps) || []) {
    let st = s.state || 'pending';
    if (s.undo_state === 'succeeded' || s.undo_state === 'undone') st = 'compensated';
    else if (s.undo_state === 'failed') st = 'undo-failed';
    else if (s.undo_state === 'running') st = 'compensating';
    out[s.step] = st;
  }
  return out;
}

export const STATE_COLOURS = {
  pending: ['#e5e7eb', '#374151'],
  queued: ['#e5e7eb', '#374151'],
  running: ['#bfdbfe', '#1d4ed8'],
  retrying: ['#fde68a', '#b45309'],
  succeeded: ['#bbf7d0', '#15803d'],
  failed: ['#fecaca', '#b91c1c'],
  skipped: ['#f3f4f6', '#6b7280'],
  compensating: ['#fed7aa', '#c2410c'],
  compensated: ['#fed7aa', '#9a3412'],
  'undo-failed': ['#fca5a5', '#7f1d1d'],
  cancelled: ['#e5e7eb', '#6b7280'],
};

function unescapeXml(s) {
  return s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(+n))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCharCode(parseInt(n, 16)))
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

// Graphviz's SVG of a workflow (workflow.graph) with each step's node
// filled by its state: the node's <title> is the step's id.  The result
// is shown as an image (no script of it can run).
export function colourSvg(svg, states) {
  const fills = [];
  const out = svg.replace(/<g id="([^"]+)" class="node">\s*<title>([^<]*)<\/title>/g, (m, id, title) => {
    const st = states[unescapeXml(title)];
    if (!st) return m;
    fills.push([id, st]);
    return `<g id="${id}" class="node st-${st}"><title>${title}</title>`;
  });
  let css = '';
  for (const [st, [fill, stroke]] of Object.entries(STATE_COLOURS))
    css += `.st-${st} ellipse,.st-${st} polygon,.st-${st} path{fill:${fill};stroke:${stroke};stroke-width:2}`;
  return out.replace(/(<svg\b[^>]*>)/, `$1<style>${css}</style>`);
}

// Money strings ("12.34") summed in cents, exactly.
export function sumMoney(values) {
  let cents = 0n;
  for (const v of values) {
    const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(v).trim());
    if (!m) throw new Error(`not an amount: ${v}`);
    const c = BigInt(m[2]) * 100n + BigInt((m[3] || '0').padEnd(2, '0'));
    cents += m[1] ? -c : c;
  }
  const neg = cents < 0n;
  const a = neg ? -cents : cents;
  return `${neg ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}

// The report's lines of one BU and basis, and their sum (which equals the
// report's own total: the report sums its rounded lines).
export function chargebackView(report) {
  const bus = {};
  for (const it of report.items || []) {
    const b = (bus[it.bu] ||= { bu: it.bu, reservation: [], allocation: [] });
    (b[it.basis] ||= []).push(it);
  }
  return (report.totals || []).map((t) => ({
    ...t,
    lines: bus[t.bu] || { reservation: [], allocation: [] },
    check: sumMoney([...(bus[t.bu]?.reservation || []), ...(bus[t.bu]?.allocation || [])].map((l) => l.amount)),
  }));
}

// Day boundaries (UTC, unix seconds) of the last n days, oldest first.
export function lastDays(n, now = Date.now()) {
  const end = Math.floor(now / 86400000) * 86400 + 86400;
  const out = [];
  for (let i = n; i > 0; i--) out.push([end - i * 86400, end - (i - 1) * 86400]);
  return out;
}

// "#/vms/web1?q=x" -> {page: 'vms', arg: 'web1', query: {q: 'x'}}.
export function parseRoute(hash) {
  const h = (hash || '').replace(/^#\/?/, '');
  const [path, qs] = h.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const query = {};
  for (const kv of (qs || '').split('&').filter(Boolean)) {
    const [k, v = ''] = kv.split('=');
    query[decodeURIComponent(k)] = decodeURIComponent(v);
  }
  return { page: parts[0] || 'inventory', arg: parts.slice(1).join('/') || null, query };
}

export function debounce(fn, ms) {
  let t = null;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
}

// The inputs of vm.provision from the create form: numbers as numbers,
// empty fields left to the workflow's defaults.
export function provisionInputs(form) {
  const out = {};
  for (const [k, v] of Object.entries(form)) {
    if (v === '' || v == null) continue;
    out[k] = ['vcpus', 'memory_mb', 'disk_gb'].includes(k) ? Number(v) : k === 'blank' ? v === 'true' : v;
  }
  return out;
}
