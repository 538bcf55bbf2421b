// SPDX-License-Identifier: Apache-2.0
// Workflows: the definitions (with their DAG), the instances, and one
// run: its steps with state, attempts and durations, its failed step,
// error and compensation, its log, its DAG coloured by state, cancel.
// All of it follows the event stream.
import { useState, useEffect, useMemo } from 'preact/hooks';
import * as api from '../api.js';
import { stepStates, colourSvg, fmtDuration, fmtTime, debounce } from '../lib.js';
import { useAsync, ErrorBox, State, Act, Loading, Tabs } from '../ui.jsx';

const FINAL = ['succeeded', 'failed', 'cancelled'];

// The run of instance id, reloaded on its events (a BU's user gets
// topics only: any workflow event reloads).
function useRun(id) {
  const logs = useAsync(() => api.call('workflow.logs', { id }), [id]);
  useEffect(() => {
    const again = debounce(logs.reload, 150);
    return api.subscribe(['workflow.'], (topic, ev) => {
      if (!ev.id || ev.id === id) again();
    });
  }, [logs.reload, id]);
  return logs;
}

export function Dag({ workflow, states }) {
  const g = useAsync(() => api.call('workflow.graph', { name: workflow }), [workflow]);
  const src = useMemo(() => g.data && `data:image/svg+xml;charset=utf-8,${encodeURIComponent(colourSvg(g.data.svg, states || {}))}`,
    [g.data, states]);
  if (g.err) return <ErrorBox err={g.err} />;
  if (!src) return <Loading what="the graph" />;
  return <img class="dag" src={src} alt={`the steps of ${workflow} as a graph`} data-testid="dag" />;
}

function StepTable({ steps }) {
  return (
    <table class="grid" data-testid="steps">
      <thead><tr><th>Step</th><th>Action</th><th>State</th><th>Attempts</th><th>Duration</th><th>Error</th><th>Undo</th></tr></thead>
      <tbody>
        {steps.map((s) => (
          <tr data-step={s.step} data-state={s.state}>
            <td>{s.step}</td><td><code>{s.call}</code></td><td><State s={s.state} /></td>
            <td>{s.attempts ?? 0}</td><td>{fmtDuration(s.duration_ms)}</td>
            <td class="err">{s.error || ''}</td>
            <td>{s.undo_state ? <><State s={s.undo_state} /> {s.undo_error || ''}</> : ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Summary({ r }) {
  return (
    <div class="summary" data-testid="run-summary" data-state={r.state}>
      <State s={r.state} /> <strong>{r.workflow}</strong> <code>{r.id}</code>
      {r.steps && Array.isArray(r.steps) && (
        <span class="muted"> · {r.steps.filter((s) => s.state === 'succeeded').length}/{r.steps.length} steps</span>
      )}
      {r.failed_step && <div class="error" role="alert" data-testid="failure">
        <strong>failed step: {r.failed_step}</strong>
        <div>{r.error}</div>
        <div>compensation: <span data-testid="compensation">{r.compensation}</span></div>
        {r.left_behind && <div>left behind: <code>{JSON.stringify(r.left_behind)}</code></div>}
      </div>}
      {r.state === 'cancelled' && r.error && <div class="error">{r.error}</div>}
    </div>
  );
}

// A compact live view of a run, for the page that started it.
export function RunProgress({ id }) {
  const logs = useRun(id);
  const r = logs.data;
  return (
    <section class="card" aria-live="polite" aria-label="Progress">
      {logs.err && <ErrorBox err={logs.err} />}
      {!r ? <Loading what="the run" /> : (
        <>
          <Summary r={r} /> <a href={`#/runs/${id}`}>details</a>
          <StepTable steps={r.steps || []} />
        </>
      )}
    </section>
  );
}

export function RunDetail({ id }) {
  const logs = useRun(id);
  const r = logs.data;
  const states = useMemo(() => stepStates(r), [r]);
  return (
    <>
      <p><a href="#/workflows">← Workflows</a></p>
      <h1>Run {id}</h1>
      <ErrorBox err={logs.err} />
      {!r ? !logs.err && <Loading what="the run" /> : (
        <>
          <Summary r={r} />
          {!FINAL.includes(r.state) && (
            <Act danger confirm="Cancel this run? What it made is undone." onRun={() => api.call('workflow.cancel', { id })}>Cancel</Act>
          )}
          <div class="cols">
            <section class="card"><h2>Steps</h2><StepTable steps={r.steps || []} /></section>
            <section class="card"><h2>Graph</h2>{r.file && !r.workflow ? <p class="muted">From a file: no graph.</p> : <Dag workflow={r.workflow} states={states} />}</section>
          </div>
          <section class="card">
            <h2>Log</h2>
            <ol class="log" data-testid="log">
              {(r.steps || []).map((s) => (
                <li>
                  <code>{fmtTime(s.started_at)}</code> {s.step} <State s={s.state} /> {s.attempts > 1 ? `(${s.attempts} attempts)` : ''} {fmtDuration(s.duration_ms)}
                  {s.error && <div class="err">{s.error}</div>}
                  {s.undo_state && <div>undo: <State s={s.undo_state} /> {s.undo_error || ''}</div>}
                </li>
              ))}
            </ol>
            <details><summary>Inputs and outputs</summary><pre>{JSON.stringify({ inputs: r.inputs, outputs: r.outputs }, null, 2)}</pre></details>
          </section>
        </>
      )}
    </>
  );
}

function Runs() {
  const [state, setState] = useState('');
  const runs = useAsync(() => api.call('workflow.list', { limit: 200, ...(state ? { state } : {}) }), [state]);
  useEffect(() => api.subscribe(['workflow.'], debounce(runs.reload, 500)), [runs.reload]);
  return (
    <section>
      <div class="toolbar">
        <label>State <select value={state} onChange={(e) => setState(e.target.value)}>
          <option value="">any</option>
          {['queued', 'running', 'compensating', 'succeeded', 'failed', 'cancelled'].map((s) => <option>{s}</option>)}
        </select></label>
      </div>
      <ErrorBox err={runs.err} />
      {!runs.data ? <Loading what="runs" /> : (
        <table class="grid" data-testid="runs">
          <thead><tr><th>Run</th><th>Workflow</th><th>State</th><th>Started</th><th>Error</th></tr></thead>
          <tbody>{runs.data.items.map((r) => (
            <tr><td><a href={`#/runs/${r.id}`}>{r.id}</a></td><td>{r.workflow}</td><td><State s={r.state} /></td>
              <td>{fmtTime(r.created_at)}</td><td class="err">{r.error || ''}</td></tr>
          ))}</tbody>
        </table>
      )}
    </section>
  );
}

function Defs() {
  const defs = useAsync(() => api.call('workflow.defs'), []);
  const [pick, setPick] = useState(null);
  const items = defs.data ? (defs.data.items || defs.data) : null;
  return (
    <section>
      <ErrorBox err={defs.err} />
      {!items ? <Loading what="definitions" /> : (
        <table class="grid">
          <thead><tr><th>Workflow</th><th>Description</th><th /></tr></thead>
          <tbody>{items.map((d) => (
            <tr><td>{d.name}</td><td>{d.description}</td>
              <td><button type="button" class="ghost" onClick={() => setPick(pick === d.name ? null : d.name)}>{pick === d.name ? 'Hide graph' : 'Graph'}</button></td></tr>
          ))}</tbody>
        </table>
      )}
      {pick && <div class="card"><h2>{pick}</h2><Dag workflow={pick} states={{}} /></div>}
    </section>
  );
}

export function Workflows() {
  const [tab, setTab] = useState('runs');
  return (
    <>
      <h1>Workflows</h1>
      <Tabs tabs={[['runs', 'Runs'], ['defs', 'Definitions']]} current={tab} onPick={setTab} />
      {tab === 'runs' ? <Runs /> : <Defs />}
    </>
  );
}
