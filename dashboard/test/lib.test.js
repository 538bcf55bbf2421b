// SPDX-License-Identifier: Apache-2.0
// Unit tests of the dashboard's pure functions (src/lib.js), with node's
// own test runner: `npm test` (tests/unit/dashboard/front.t runs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  errorLines, buildTree, filterTree, hostUse, percent, fmtBytes, fmtDuration,
  stepStates, colourSvg, sumMoney, chargebackView, lastDays, parseRoute, provisionInputs,
} from '../src/lib.js';

test('errors are shown in the API\'s words, with their details', () => {
  const e = { code: 'INVALID_ARG', message: 'x.yaml:4:5: bad (and more)',
    details: { errors: ['x.yaml:4:5: bad', 'x.yaml:7:5: worse'] } };
  assert.deepEqual(errorLines(e), ['INVALID_ARG: x.yaml:4:5: bad (and more)', 'x.yaml:4:5: bad', 'x.yaml:7:5: worse']);
  const p = { code: 'NOSPACE', message: 'no host fits (1 host): capacity removed 1 (memory)',
    details: { hosts: 1, removed: [{ count: 1, filter: 'capacity', reason: 'memory' }] } };
  assert.deepEqual(errorLines(p), ['NOSPACE: no host fits (1 host): capacity removed 1 (memory)',
    'capacity removed 1 (memory)', 'hosts: 1']);
  assert.deepEqual(errorLines(null), []);
});

test('the inventory tree nests zones, pods, clusters and hosts', () => {
  const t = buildTree([{ name: 'z' }, { name: 'y' }], [{ name: 'p', zone: 'z' }],
    [{ name: 'c', pod: 'z/p' }], [{ name: 'h1', cluster: 'z/p/c' }, { name: 'h2', cluster: 'z/p/c' }]);
  assert.equal(t.length, 2);
  assert.equal(t[0].children[0].children[0].children.map((h) => h.name).join(','), 'h1,h2');
  assert.equal(t[0].children[0].children[0].path, 'z/p/c');
  const f = filterTree(t, 'H2');
  assert.equal(f.length, 1);
  assert.equal(f[0].children[0].children[0].children.length, 1);
  assert.equal(filterTree(t, '').length, 2);
});

test('host use from discovered memory and claims', () => {
  const u = hostUse({ cpus: 8, memory_kib: 1048576, free_memory_kib: 262144 },
    [{ vcpus: 2, memory_mib: 512 }, { vcpus: 1, memory_mib: 256 }]);
  assert.equal(u.memTotal, 1073741824);
  assert.equal(u.memUsed, 805306368);
  assert.equal(u.vcpusClaimed, 3);
  assert.equal(u.memClaimed, 768 * 1048576);
  assert.equal(percent(u.memUsed, u.memTotal), 75);
  assert.equal(percent(null, 4), null);
  assert.equal(hostUse({ cpus: 4 }).memUsed, null);
});

test('formats', () => {
  assert.equal(fmtBytes(512), '512 B');
  assert.equal(fmtBytes(1536), '1.5 KiB');
  assert.equal(fmtBytes(3 * 1073741824), '3.0 GiB');
  assert.equal(fmtDuration(999), '999 ms');
  assert.equal(fmtDuration(1500), '1.5 s');
  assert.equal(fmtDuration(125000), '2 min 5 s');
});

test('steps take their undo\'s state once compensated', () => {
  const s = stepStates({ steps: [
    { step: 'a', state: 'succeeded', undo_state: 'succeeded' },
    { step: 'b', state: 'failed', undo_state: null },
    { step: 'c', state: 'running' }] });
  assert.deepEqual(s, { a: 'compensated', b: 'failed', c: 'running' });
});

test('the DAG\'s nodes are coloured by their step\'s state', () => {
  const svg = '<svg width="10pt">\n<g id="graph0" class="graph"><title>wf</title>\n'
    + '<g id="node1" class="node">\n<title>disk</title>\n<ellipse fill="none"/></g>\n'
    + '<g id="node2" class="node">\n<title>vm&#45;x</title>\n<ellipse fill="none"/></g>\n'
    + '<g id="node3" class="node">\n<title>other</title>\n<ellipse fill="none"/></g></g></svg>';
  const out = colourSvg(svg, { disk: 'succeeded', 'vm-x': 'failed' });
  assert.match(out, /<g id="node1" class="node st-succeeded">/);
  assert.match(out, /<g id="node2" class="node st-failed">/);
  assert.match(out, /<g id="node3" class="node">/);
  assert.match(out, /^<svg width="10pt"><style>.*\.st-failed ellipse/);
});

test('money sums are exact, in cents', () => {
  assert.equal(sumMoney(['0.10', '0.20', '1.05']), '1.35');
  assert.equal(sumMoney(['12', '0.5']), '12.50');
  assert.equal(sumMoney([]), '0.00');
  assert.throws(() => sumMoney(['1.234']));
  const v = chargebackView({ items: [
    { bu: 'a', basis: 'reservation', resource: 'vcpu', amount: '1.10' },
    { bu: 'a', basis: 'allocation', resource: 'vcpu', amount: '0.25' }],
  totals: [{ bu: 'a', reservation: '1.10', allocation: '0.25', total: '1.35' }] });
  assert.equal(v[0].check, '1.35');
  assert.equal(v[0].lines.reservation.length, 1);
});

test('days and routes', () => {
  const d = lastDays(3, Date.UTC(2026, 11, 4, 12));
  assert.equal(d.length, 3);
  assert.equal(d[2][1], Date.UTC(2026, 11, 5) / 1000);
  assert.equal(d[0][0], Date.UTC(2026, 11, 2) / 1000);
  assert.deepEqual(parseRoute('#/vms/web%201?q=a&after=5'), { page: 'vms', arg: 'web 1', query: { q: 'a', after: '5' } });
  assert.deepEqual(parseRoute(''), { page: 'inventory', arg: null, query: {} });
  assert.deepEqual(provisionInputs({ name: 'a', vcpus: '2', host: '', template: 'small' }), { name: 'a', vcpus: 2, template: 'small' });
  assert.deepEqual(provisionInputs({ name: 'b', blank: 'true' }), { name: 'b', blank: true });
});
