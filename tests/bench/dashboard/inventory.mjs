// SPDX-License-Identifier: Apache-2.0
// The dashboard benchmark's browser side (tests/bench/dashboard/
// dashboard.t): the inventory page of two trellisds, one with 10,000 VMs
// and one with 100, in alternating rounds, each in a fresh browser
// context (a cold cache) logged in with an API key.  Per load: first
// contentful paint, time to interactive (the tree and the first page of
// VMs on screen, from the navigation's start: the marks the page sets) and the bytes transferred
// (Resource Timing's transferSize of the page and everything it fetched).
// Prints one JSON line per load; dashboard.t takes the medians.
// Environment: BIG_URL, BIG_KEY, SMALL_URL, SMALL_KEY, ROUNDS, and
// NODE_MODULES (tests/integration/dashboard's, which has playwright-core).
import { createRequire } from 'node:module';

const { chromium } = createRequire(`${process.env.NODE_MODULES}/`)('playwright-core');

const env = process.env;
const rounds = Number(env.ROUNDS || 5);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });

async function load(url, key) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const r = await ctx.request.post(`${url}/api/v1/auth/login`, { data: { key } });
  if (!r.ok()) throw new Error(`login: ${r.status()} ${await r.text()}`);
  const page = await ctx.newPage();
  await page.goto(`${url}/#/inventory`, { waitUntil: 'commit' });
  await page.locator('[data-testid=vm-table] tbody tr').nth(99).waitFor({ timeout: 30000 });
  await page.locator('[data-testid=tree] .host').first().waitFor({ timeout: 30000 });
  const m = await page.evaluate(() => {
    // The page marks when the tree and the first page of VMs are shown.
    const now = Math.max(...['trellis:tree', 'trellis:vms'].map((n) => performance.getEntriesByName(n)[0].startTime));
    const nav = performance.getEntriesByType('navigation')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    let bytes = nav ? nav.transferSize : 0;
    for (const e of performance.getEntriesByType('resource')) bytes += e.transferSize || 0;
    return { interactive_ms: now - (nav ? nav.startTime : 0), fcp_ms: fcp ? fcp.startTime : null, bytes };
  });
  await ctx.close();
  return m;
}

for (let i = 0; i < rounds; i++) {
  const order = i % 2 ? ['small', 'big'] : ['big', 'small'];
  for (const which of order) {
    const m = await load(env[`${which.toUpperCase()}_URL`], env[`${which.toUpperCase()}_KEY`]);
    console.log(JSON.stringify({ which, round: i + 1, ...m }));
  }
}
await browser.close();
