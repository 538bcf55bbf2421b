// SPDX-License-Identifier: Apache-2.0
// The dashboard's one road to trellisd: the public HTTP API (POST
// /api/v1/ops/{op}, the same ops, checks and scoping as every client),
// the session endpoints (/api/v1/auth/...) and the event stream (SSE).
// The session cookie is HttpOnly: this code never sees it; it holds the
// CSRF token the login answered and sends it with every POST.

export class ApiError extends Error {
  constructor(status, error) {
    super(error && error.message ? error.message : `HTTP ${status}`);
    this.status = status;
    this.code = (error && error.code) || 'HTTP';
    this.details = (error && error.details) || null;
  }
}

let csrf = null;
let onLoggedOut = () => {};
export function setCsrf(token) { csrf = token; }
export function whenLoggedOut(fn) { onLoggedOut = fn; }

async function send(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { code: 'UNAVAILABLE', message: `trellisd does not answer (${e.message})` });
  }
  let env = null;
  try { env = await res.json(); } catch { /* not JSON: below */ }
  if (env && env.ok) return env.result;
  const err = new ApiError(res.status, env && env.error);
  if (res.status === 401 && !path.endsWith('/auth/login') && !path.endsWith('/auth/session'))
    onLoggedOut(err);
  throw err;
}

// Runs an API op with its arguments: the result, or an ApiError.
export function call(op, args = {}) {
  return send('POST', `/api/v1/ops/${encodeURIComponent(op)}`, args);
}

export const login = (creds) => send('POST', '/api/v1/auth/login', creds);
export const session = () => send('GET', '/api/v1/auth/session');
export const logout = () => send('POST', '/api/v1/auth/logout');

// Starts a workflow; its instance id.
export async function run(workflow, inputs) {
  const r = await call('workflow.run', { workflow, inputs });
  return r.id;
}

// One EventSource for the page; listeners by topic prefix.  A BU's user
// gets topics without data (trellisd's choice): listeners then reload
// through the API.
const listeners = new Set();
let source = null;
export function subscribe(prefixes, fn) {
  const l = { prefixes, fn };
  listeners.add(l);
  if (!source && typeof EventSource !== 'undefined') {
    source = new EventSource('/api/v1/events');
    const dispatch = (ev) => {
      let data = {};
      try { data = JSON.parse(ev.data); } catch { /* keep {} */ }
      for (const x of listeners)
        if (x.prefixes.some((p) => ev.type.startsWith(p))) x.fn(ev.type, data);
    };
    // SSE events are named by topic: listen to the families we show.
    for (const t of ['vm.', 'host.', 'workflow.', 'allocation.', 'policy.', 'user.', 'daemon.', 'zone.', 'pod.', 'cluster.', 'pool.', 'network.'])
      for (const k of TOPICS[t] || [t.slice(0, -1)])
        source.addEventListener(k, dispatch);
  }
  return () => listeners.delete(l);
}
export function closeEvents() {
  if (source) source.close();
  source = null;
}

// SSE needs exact event names: the topics trellisd publishes.
const TOPICS = {
  'vm.': ['vm.state'],
  'host.': ['host.state', 'host.added', 'host.removed', 'host.refreshed'],
  'workflow.': ['workflow.queued', 'workflow.started', 'workflow.finished', 'workflow.step.started',
    'workflow.step.finished', 'workflow.step.retrying', 'workflow.step.undone'],
  'allocation.': ['allocation.requested'],
  'policy.': ['policy.set', 'policy.claim.orphan'],
  'user.': ['user.created', 'user.deleted'],
  'daemon.': ['daemon.started'],
  'zone.': ['zone.created', 'zone.deleted'],
  'pod.': ['pod.created', 'pod.deleted'],
  'cluster.': ['cluster.created', 'cluster.deleted'],
  'pool.': ['pool.created', 'pool.deleted'],
  'network.': ['network.created', 'network.deleted'],
};
