// SPDX-License-Identifier: Apache-2.0
// The dashboard's small building blocks: loading data, showing API errors
// in the API's words, capacity bars, tables, tabs, buttons that wait.
import { useState, useEffect, useCallback, useRef } from 'preact/hooks';
import { errorLines, percent } from './lib.js';

// Runs fn() now and whenever deps change; reload() runs it again.
export function useAsync(fn, deps) {
  const [state, set] = useState({ data: null, err: null, loading: true });
  const seq = useRef(0);
  const load = useCallback(() => {
    const n = ++seq.current;
    set((s) => ({ ...s, loading: true }));
    fn().then((data) => n === seq.current && set({ data, err: null, loading: false }),
      (err) => n === seq.current && set({ data: null, err, loading: false }));
  }, deps);
  useEffect(load, [load]);
  return { ...state, reload: load };
}

export function ErrorBox({ err }) {
  if (!err) return null;
  const lines = errorLines(err);
  return (
    <div class="error" role="alert">
      <strong>{lines[0]}</strong>
      {lines.length > 1 && <ul>{lines.slice(1).map((l) => <li><code>{l}</code></li>)}</ul>}
    </div>
  );
}

export function Bar({ used, total, label, title }) {
  const p = percent(used, total);
  return (
    <div class="bar" title={title} role="meter" aria-valuemin="0" aria-valuemax="100"
      aria-valuenow={p ?? undefined} aria-label={title}>
      <div class={`fill ${p >= 90 ? 'hot' : p >= 70 ? 'warm' : ''}`} style={{ width: `${p ?? 0}%` }} />
      <span>{label ?? (p == null ? 'unknown' : `${p}%`)}</span>
    </div>
  );
}

export function State({ s }) {
  return <span class={`state st-${s || 'unknown'}`}>{s || 'unknown'}</span>;
}

// A button that runs an async action, shows it is busy, and reports an
// error beside itself.
export function Act({ onRun, children, danger, confirm: ask, disabled, label }) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState(null);
  const go = async () => {
    if (ask && !window.confirm(ask)) return;
    setBusy(true);
    setErr(null);
    try { await onRun(); } catch (e) { setErr(e); }
    setBusy(false);
  };
  return (
    <span class="act">
      <button type="button" class={danger ? 'danger' : ''} onClick={go} disabled={busy || disabled}
        aria-label={label}>{busy ? '…' : children}</button>
      {err && <ErrorBox err={err} />}
    </span>
  );
}

export function Tabs({ tabs, current, onPick }) {
  return (
    <div class="tabs" role="tablist">
      {tabs.map(([id, name]) => (
        <button type="button" role="tab" aria-selected={current === id} class={current === id ? 'on' : ''}
          onClick={() => onPick(id)}>{name}</button>
      ))}
    </div>
  );
}

export function KV({ obj, skip = [] }) {
  if (!obj) return null;
  return (
    <dl class="kv">
      {Object.entries(obj).filter(([k]) => !skip.includes(k)).map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v == null ? '–' : typeof v === 'object' ? <code>{JSON.stringify(v)}</code> : String(v)}</dd>
        </>
      ))}
    </dl>
  );
}

export function Loading({ what }) {
  return <p class="muted" aria-live="polite">Loading {what}…</p>;
}
