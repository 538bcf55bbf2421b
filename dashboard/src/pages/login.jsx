// SPDX-License-Identifier: Apache-2.0
// The login: a user's password (trellis user passwd) or an API key.
import { useState } from 'preact/hooks';
import * as api from '../api.js';
import { ErrorBox } from '../ui.jsx';

export function Login({ onIn }) {
  const [mode, setMode] = useState('password');
  const [err, setErr] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    setBusy(true);
    setErr(null);
    try {
      const s = await api.login(mode === 'key' ? { key: f.get('key') }
        : { user: f.get('user'), password: f.get('password') });
      onIn(s);
    } catch (x) {
      setErr(x);
    }
    setBusy(false);
  };
  return (
    <main class="login">
      <h1>Trellis</h1>
      <form onSubmit={submit} aria-label="Log in">
        {mode === 'password' ? (
          <>
            <label>User <input name="user" autocomplete="username" required autofocus /></label>
            <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
          </>
        ) : (
          <label>API key <input name="key" type="password" autocomplete="off" required autofocus /></label>
        )}
        <button type="submit" disabled={busy}>{busy ? 'Logging in…' : 'Log in'}</button>
        <button type="button" class="ghost" onClick={() => setMode(mode === 'key' ? 'password' : 'key')}>
          {mode === 'key' ? 'Use a password' : 'Use an API key'}
        </button>
        <ErrorBox err={err} />
      </form>
    </main>
  );
}
