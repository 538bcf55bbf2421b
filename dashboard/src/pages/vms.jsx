// SPDX-License-Identifier: Apache-2.0
// VMs: the list (search, pages), creating one from a template (workflow
// vm.provision, followed live on its run's page), a VM's details, its
// start/stop/reboot/destroy (workflows vm.start, vm.stop, vm.reboot,
// vm.destroy) with their progress, and its console.
import { useState, useEffect } from 'preact/hooks';
import * as api from '../api.js';
import { provisionInputs, debounce } from '../lib.js';
import { useAsync, ErrorBox, KV, State, Act, Loading } from '../ui.jsx';
import { VmTable } from './inventory.jsx';
import { RunProgress } from './workflows.jsx';

function CreateForm() {
  const tpl = useAsync(() => api.call('template.list').catch(() => ({ items: [] })), []);
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const f = Object.fromEntries(new FormData(e.target));
    setBusy(true);
    setErr(null);
    try {
      const id = await api.run('vm.provision', provisionInputs(f));
      location.hash = `#/runs/${id}`;
    } catch (x) { setErr(x); }
    setBusy(false);
  };
  const templates = (tpl.data && tpl.data.items) || [];
  return (
    <form class="card form" onSubmit={submit} aria-label="Create a VM">
      <h2>Create a VM</h2>
      <label>Name <input name="name" required pattern="[A-Za-z0-9._-]+" /></label>
      <label>Template
        <select name="template">
          <option value="">(none: the shape below)</option>
          {templates.map((t) => <option value={t.name}>{t.name} ({t.vcpus} vCPU, {t.memory_mib ?? t.memory} MiB)</option>)}
        </select>
      </label>
      <label>vCPUs <input name="vcpus" type="number" min="1" placeholder="template's or 1" /></label>
      <label>Memory (MiB) <input name="memory_mb" type="number" min="16" placeholder="template's or 256" /></label>
      <label>Disk (GiB) <input name="disk_gb" type="number" min="1" placeholder="template's or 1" /></label>
      <details>
        <summary>More</summary>
        <label>Host <input name="host" placeholder="placement chooses" /></label>
        <label>Business unit <input name="bu" /></label>
        <label>Network segment <input name="segment" placeholder="default" /></label>
        <label>Console <select name="console"><option value="">none</option><option value="vnc">vnc</option></select></label>
        <label>Base image <input name="image" placeholder="a path on the pool's host" /></label>
        <label>Blank disk <select name="blank"><option value="">no</option><option value="true">yes (boots nothing)</option></select></label>
        <label>Kernel <input name="kernel" /></label>
        <label>Initrd <input name="initrd" /></label>
        <label>Kernel command line <input name="cmdline" /></label>
        <label>Serial log file <input name="serial_log" /></label>
      </details>
      <button type="submit" disabled={busy}>{busy ? 'Starting…' : 'Create'}</button>
      <ErrorBox err={err} />
    </form>
  );
}

export function Vms() {
  const [showCreate, setShow] = useState(false);
  return (
    <>
      <h1>VMs</h1>
      <button type="button" onClick={() => setShow(!showCreate)} aria-expanded={showCreate}>
        {showCreate ? 'Close' : 'Create a VM'}
      </button>
      {showCreate && <CreateForm />}
      <VmTable />
    </>
  );
}

// The VM's console through the console proxy (console.open mints a
// single-use token; the URL is the proxy's noVNC page, or its stripe
// viewer, the fallback for browsers without WebSockets).
function Console({ vm }) {
  const [url, setUrl] = useState(null);
  const [err, setErr] = useState(null);
  const [mode, setMode] = useState('ws');
  const open = async () => {
    setErr(null);
    try {
      const r = await api.call('console.open', { name: vm.uuid, mode });
      setUrl(r.url);
    } catch (e) { setErr(e); }
  };
  return (
    <section class="card" aria-label="Console">
      <h2>Console</h2>
      {!url && (
        <div class="toolbar">
          <button type="button" onClick={open}>Open the console</button>
          <label>Viewer <select value={mode} onChange={(e) => setMode(e.target.value)}>
            <option value="ws">noVNC</option><option value="stripe">image stripes (fallback)</option>
          </select></label>
        </div>
      )}
      <ErrorBox err={err} />
      {url && (
        <>
          <iframe class="console" src={url} title={`console of ${vm.name}`} data-testid="console"
            referrerpolicy="no-referrer" />
          <p><button type="button" class="ghost" onClick={() => setUrl(null)}>Close the console</button></p>
        </>
      )}
    </section>
  );
}

export function VmDetail({ name }) {
  const vm = useAsync(() => api.call('vm.show', { name }), [name]);
  const [runId, setRun] = useState(null);
  useEffect(() => {
    const again = debounce(vm.reload, 300);
    return api.subscribe(['vm.', 'workflow.finished'], again);
  }, [vm.reload]);
  const v = vm.data;
  const act = (wf, inputs) => async () => setRun(await api.run(wf, inputs));
  return (
    <>
      <p><a href="#/vms">← VMs</a></p>
      <h1>VM {name} {v && <State s={v.state} />}</h1>
      <ErrorBox err={vm.err} />
      {!v && !vm.err && <Loading what="the VM" />}
      {v && (
        <>
          <div class="actions">
            <Act onRun={act('vm.start', { vm: v.uuid })} disabled={v.state === 'running'}>Start</Act>
            <Act onRun={act('vm.stop', { vm: v.uuid })} disabled={v.state !== 'running'}>Stop</Act>
            <Act onRun={act('vm.reboot', { vm: v.uuid })} disabled={v.state !== 'running'}>Reboot</Act>
            <Act danger confirm={`Destroy ${v.name}? Its disk goes too.`} onRun={act('vm.destroy', { vm: v.uuid })}>Destroy</Act>
          </div>
          {runId && <RunProgress id={runId} />}
          <div class="cols">
            <section class="card"><h2>Details</h2><KV obj={v} skip={['spec']} /></section>
            <Console vm={v} />
          </div>
        </>
      )}
      {vm.err && runId && <RunProgress id={runId} />}
    </>
  );
}
