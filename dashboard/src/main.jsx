// SPDX-License-Identifier: Apache-2.0
// The dashboard: the login, the navigation and the pages, routed by the
// URL's fragment (#/vms/web1), so that trellisd serves one index.html.
import { render } from 'preact';
import { useState, useEffect } from 'preact/hooks';
import * as api from './api.js';
import { parseRoute } from './lib.js';
import { Login } from './pages/login.jsx';
import { Inventory } from './pages/inventory.jsx';
import { Vms, VmDetail } from './pages/vms.jsx';
import { Workflows, RunDetail } from './pages/workflows.jsx';
import { Placement } from './pages/placement.jsx';
import { Bu } from './pages/bu.jsx';
import { Health } from './pages/health.jsx';
import './style.css';

const NAV = [
  ['inventory', 'Inventory'], ['vms', 'VMs'], ['workflows', 'Workflows'],
  ['placement', 'Placement'], ['bu', 'Business units'], ['health', 'Health'],
];

function useRoute() {
  const [r, set] = useState(parseRoute(location.hash));
  useEffect(() => {
    const on = () => set(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return r;
}

function Theme() {
  const [t, set] = useState(localStorage.getItem('trellis-theme') || 'auto');
  useEffect(() => {
    document.documentElement.dataset.theme = t;
    localStorage.setItem('trellis-theme', t);
  }, [t]);
  const next = { auto: 'light', light: 'dark', dark: 'auto' }[t];
  return <button type="button" class="ghost" onClick={() => set(next)} title="Colour scheme">Theme: {t}</button>;
}

function App() {
  const [who, setWho] = useState(undefined);
  const route = useRoute();
  useEffect(() => {
    api.whenLoggedOut(() => { api.closeEvents(); setWho(null); });
    api.session().then((s) => { api.setCsrf(s.csrf); setWho(s); }, () => setWho(null));
  }, []);
  if (who === undefined) return <p class="muted">Loading…</p>;
  if (!who) return <Login onIn={(s) => { api.setCsrf(s.csrf); setWho(s); }} />;
  const out = async () => {
    try { await api.logout(); } finally { api.closeEvents(); api.setCsrf(null); setWho(null); }
  };
  const P = { who, route };
  let page;
  switch (route.page) {
    case 'vms': page = route.arg ? <VmDetail {...P} name={route.arg} /> : <Vms {...P} />; break;
    case 'workflows': page = <Workflows {...P} />; break;
    case 'runs': page = <RunDetail {...P} id={route.arg} />; break;
    case 'placement': page = <Placement {...P} />; break;
    case 'bu': page = <Bu {...P} />; break;
    case 'health': page = <Health {...P} />; break;
    default: page = <Inventory {...P} />;
  }
  const cur = route.page === 'runs' ? 'workflows' : route.page;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>Skip to content</a>
      <header>
        <strong class="logo">Trellis</strong>
        <nav aria-label="Pages">
          {NAV.map(([id, name]) => (
            <a href={`#/${id}`} aria-current={cur === id ? 'page' : undefined}>{name}</a>
          ))}
        </nav>
        <span class="who" data-testid="who">{who.user} · {who.role}{who.bu ? ` · ${who.bu}` : ''}</span>
        <Theme />
        <button type="button" class="ghost" onClick={out}>Log out</button>
      </header>
      <main id="main" tabIndex={-1}>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app'));
