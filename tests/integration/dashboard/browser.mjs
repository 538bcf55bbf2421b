// SPDX-License-Identifier: Apache-2.0
// The dashboard in a real browser (Debian's chromium through Playwright)
// against the real trellisd and test guests browser.t starts: each check
// prints "ok DESC" or "not ok DESC" (browser.t numbers them), "# ..."
// lines are diagnostics.  Screenshots of each main page go to $SHOTS.
// Environment: URL, SHOTS, CLI_BIN and CLI_SOCKET (the trellis CLI and its
// socket), SEGMENT (the network VMs go on), CONSOLE (1: a console proxy runs), PREFIX
// (VM names), KERNEL, INITRD, SERIAL (a file for the guest's console),
// BIG_MIB (memory no host has), ADMIN_PW, ALICE_PW, ALLOC (a requested
// allocation), FROM (the chargeback period's start).
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

const env = process.env;
const LONG = 300000;
mkdirSync(env.SHOTS, { recursive: true });
let shot = 0;
const cli = (...a) => JSON.parse(execFileSync(env.CLI_BIN, ['-s', env.CLI_SOCKET, '-o', 'json', ...a], { encoding: 'utf8' }));
function report(good, desc, why) {
  console.log(`${good ? 'ok' : 'not ok'} ${desc}`);
  if (!good && why) for (const l of String(why).split('\n').slice(0, 12)) console.log(`# ${l}`);
}
async function check(desc, fn) {
  try {
    await fn();
    report(true, desc);
    return true;
  } catch (e) {
    report(false, desc, e.stack || e.message);
    return false;
  }
}
async function snap(page, name) {
  shot++;
  await page.screenshot({ path: `${env.SHOTS}/${String(shot).padStart(2, '0')}-${name}.png`, fullPage: true });
}
const expectText = async (loc, re, timeout = 20000) => {
  const t0 = Date.now();
  let last = '';
  while (Date.now() - t0 < timeout) {
    last = (await loc.textContent().catch(() => '')) || '';
    if (re.test(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`wanted ${re}, saw: ${last.slice(0, 400)}`);
};

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
const errors = [];
async function newPage() {
  // The console proxy's certificate is its own self-signed one.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => d.accept());
  return page;
}
async function login(page, user, pw) {
  await page.goto(env.URL + '/');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', pw);
  await page.click('button[type=submit]');
}

const admin = await newPage();
await check('a wrong password is refused, in the API\'s words', async () => {
  await login(admin, 'admin', 'not the password');
  await expectText(admin.locator('.error'), /PERMISSION: wrong user name or password/);
  await snap(admin, 'login-refused');
});
await check('the right password logs in (the dc-admin)', async () => {
  await admin.fill('input[name=password]', env.ADMIN_PW);
  await admin.click('button[type=submit]');
  await expectText(admin.locator('[data-testid=who]'), /admin · dc-admin/);
});
await check('the inventory shows the host with its capacity bar', async () => {
  await expectText(admin.locator('[data-testid=tree]'), /pvh/);
  await admin.locator('.host .bar').first().waitFor();
  await expectText(admin.locator('.host .bar').first(), /mem .* \/ .*iB/);
  await snap(admin, 'inventory');
});
await check('the keyboard reaches the navigation and the pages', async () => {
  const seen = [];
  for (let i = 0; i < 12; i++) {
    await admin.keyboard.press('Tab');
    const f = await admin.evaluate(() => document.activeElement && document.activeElement.textContent);
    seen.push(f);
    if (f === 'VMs') break;
  }
  if (seen[seen.length - 1] !== 'VMs') throw new Error(`focus went: ${seen.join(' | ')}`);
  await admin.keyboard.press('Enter');
  await admin.waitForURL(/#\/vms$/);
  await expectText(admin.locator('h1'), /VMs/);
});

// -- create a VM from a template and watch its run --
const vm = `${env.PREFIX}web`;
let runId = null;
await check('create a VM from a template: its run is followed live until succeeded', async () => {
  await admin.goto(env.URL + '/#/vms');
  await admin.click('text=Create a VM');
  await admin.fill('form[aria-label="Create a VM"] input[name=name]', vm);
  await admin.selectOption('select[name=template]', 'small');
  await admin.click('form[aria-label="Create a VM"] summary');
  await admin.fill('input[name=bu]', 'beta');
  await admin.fill('input[name=segment]', env.SEGMENT);
  await admin.selectOption('select[name=console]', 'vnc');
  await admin.fill('input[name=kernel]', env.KERNEL);
  await admin.fill('input[name=initrd]', env.INITRD);
  await admin.fill('input[name=cmdline]', 'console=ttyS0 quiet');
  await admin.fill('input[name=serial_log]', env.SERIAL);
  await snap(admin, 'vm-create');
  await admin.click('form[aria-label="Create a VM"] button[type=submit]');
  await admin.waitForURL(/#\/runs\/wf-/, { timeout: 20000 });
  runId = admin.url().split('/runs/')[1];
  // Live: some step is seen running before the end (events, no reload).
  await expectText(admin.locator('[data-testid=steps]'), /running|succeeded/, 60000);
  await expectText(admin.locator('[data-testid=run-summary]'), /^succeeded/, LONG);
  const states = await admin.locator('[data-testid=steps] tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.state));
  if (!states.length || states.some((s) => s !== 'succeeded')) throw new Error(`steps: ${states}`);
  await admin.locator('[data-testid=dag]').waitFor();
  await snap(admin, 'run-succeeded');
});
console.log(`# run ${runId}`);
await check('the run matches the CLI: workflow status says succeeded', async () => {
  const st = cli('workflow', 'status', runId);
  if (st.state !== 'succeeded') throw new Error(JSON.stringify(st));
});
await check('the DAG is Graphviz\'s SVG with the steps coloured by state', async () => {
  const src = await admin.locator('[data-testid=dag]').getAttribute('src');
  const svg = decodeURIComponent(src.split(',')[1]);
  if (!/class="node st-succeeded"/.test(svg) || !/<title>place<\/title>/.test(svg)) throw new Error(svg.slice(0, 300));
});
await check('the VM is seen running, and its guest boots', async () => {
  await admin.goto(`${env.URL}/#/vms/${vm}`);
  await expectText(admin.locator('h1'), /running/, 60000);
  execFileSync('bash', ['-c', `for i in $(seq 1 1200); do grep -q TRELLIS-GUEST-UP '${env.SERIAL}' && exit 0; sleep 0.1; done; exit 1`]);
  await snap(admin, 'vm-running');
});
if (env.CONSOLE === '1') {
  await check('its console opens in the page and shows the guest\'s screen (noVNC through trellis-console)', async () => {
    await admin.click('button:has-text("Open the console")');
    await admin.locator('[data-testid=console]').waitFor();
    const src = await admin.locator('[data-testid=console]').getAttribute('src');
    if (!/^https:\/\/127\.0\.0\.1:\d+\/vnc\?vm=.*&token=/.test(src)) throw new Error(src);
    let frame = null;
    for (let i = 0; i < 100 && !frame; i++) {
      frame = admin.frames().find((f) => /\/vnc/.test(f.url()));
      if (!frame) await admin.waitForTimeout(100);
    }
    if (!frame) throw new Error('no console frame');
    await frame.locator('canvas').first().waitFor({ timeout: 30000 });
    let colours = 0;
    for (let i = 0; i < 60 && colours < 2; i++) {
      await admin.waitForTimeout(500);
      colours = await frame.evaluate(() => {
        const c = [...document.querySelectorAll('canvas')].sort((a, b) => b.width * b.height - a.width * a.height)[0];
        if (!c || !c.width) return 0;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let k = 0; k < d.length && seen.size < 3; k += 4 * 97) seen.add(`${d[k]},${d[k + 1]},${d[k + 2]}`);
        return seen.size;
      });
    }
    if (colours < 2) throw new Error('the console canvas stays blank');
    await snap(admin, 'vm-console');
    await admin.click('button:has-text("Close the console")');
  });
} else {
  console.log('# the console check is skipped: ' + (env.CONSOLE_WHY || 'no console proxy'));
}
await check('the inventory shows its host\'s placement claims', async () => {
  await admin.goto(`${env.URL}/#/inventory`);
  await admin.click('[data-testid=tree] .host button:has-text("pvh")');
  await expectText(admin.locator('[data-testid=host-claims]'), /placement claims \([1-9]\d*\).*vCPUs [1-9]\d* \//);
  await expectText(admin.locator('[data-testid=vm-table]'), new RegExp(vm));
  await snap(admin, 'inventory-host');
});
await check('the VMs list finds it by search', async () => {
  await admin.goto(`${env.URL}/#/vms`);
  await admin.fill('input[type=search]', 'web');
  await expectText(admin.locator('[data-testid=vm-table]'), new RegExp(vm));
  await snap(admin, 'vms');
});

// -- a bu-user sees only their BU --
const alice = await newPage();
await check('a bu-user (acme) does not see the beta VM, nor its run', async () => {
  await login(alice, 'alice', env.ALICE_PW);
  await expectText(alice.locator('[data-testid=who]'), /alice · bu-user · acme/);
  await alice.goto(`${env.URL}/#/vms`);
  await expectText(alice.locator('[data-testid=vm-table]'), /No VMs/);
  if (await alice.locator('[data-testid=tree]').count()) throw new Error('a bu-user sees the data center\'s tree');
  await alice.goto(`${env.URL}/#/vms/${vm}`);
  await expectText(alice.locator('.error'), new RegExp(`NOTFOUND: vm '${vm}' not found`));
  await alice.goto(`${env.URL}/#/runs/${runId}`);
  await expectText(alice.locator('.error'), /NOTFOUND/);
  await snap(alice, 'bu-user-vm-notfound');
});

// -- stop and destroy --
await check('stop it from its page: the run succeeds and the VM is shut off', async () => {
  await admin.goto(`${env.URL}/#/vms/${vm}`);
  await expectText(admin.locator('h1'), /running/, 30000);
  await admin.click('.actions button:has-text("Stop")');
  await expectText(admin.locator('[data-testid=run-summary]'), /^succeeded/, LONG);
  await expectText(admin.locator('h1'), /shutoff|stopped|shut/, 60000);
  const v = cli('vm', 'show', vm);
  if (v.state === 'running') throw new Error(JSON.stringify(v));
  await snap(admin, 'vm-stopped');
});
await check('destroy it: the run succeeds and the VM is gone', async () => {
  await admin.click('.actions button:has-text("Destroy")');
  await expectText(admin.locator('[data-testid=run-summary]'), /^succeeded/, LONG);
  await expectText(admin.locator('.error').first(), /NOTFOUND/, 30000);
  const list = cli('vm', 'list');
  if (list.items.some((x) => x.name === vm)) throw new Error('still listed');
  await snap(admin, 'vm-destroyed');
});

// -- a failing provision --
await check('a failing provision shows the failed step, its error and the compensation', async () => {
  execFileSync(env.CLI_BIN, ['-s', env.CLI_SOCKET, 'policy', 'set', 'memhog', '--zone', 'pv']);
  await admin.goto(`${env.URL}/#/vms`);
  await admin.click('text=Create a VM');
  await admin.fill('form[aria-label="Create a VM"] input[name=name]', `${env.PREFIX}big`);
  await admin.fill('input[name=memory_mb]', env.BIG_MIB);
  await admin.click('form[aria-label="Create a VM"] summary');
  await admin.fill('input[name=segment]', env.SEGMENT);
  await admin.fill('input[name=kernel]', env.KERNEL);
  await admin.fill('input[name=initrd]', env.INITRD);
  await admin.click('form[aria-label="Create a VM"] button[type=submit]');
  await admin.waitForURL(/#\/runs\/wf-/, { timeout: 20000 });
  await expectText(admin.locator('[data-testid=run-summary]'), /^failed/, LONG);
  await expectText(admin.locator('[data-testid=failure]'), /failed step: vm/);
  await expectText(admin.locator('[data-testid=failure]'), /NOSPACE: .*memory/);
  await expectText(admin.locator('[data-testid=compensation]'), /done/, 60000);
  const undone = await admin.locator('[data-testid=steps] tbody tr').evaluateAll((rs) => rs.map((r) => r.textContent));
  if (!undone.some((t) => /disk.*succeeded/.test(t))) throw new Error(undone.join('\n'));
  await snap(admin, 'run-failed');
});

// -- a dc-admin approves an allocation --
await check('a dc-admin approves a requested allocation', async () => {
  await admin.goto(`${env.URL}/#/bu`);
  const row = admin.locator(`[data-allocation="${env.ALLOC}"]`);
  await expectText(row, /requested/);
  await snap(admin, 'bu-allocations');
  await row.locator('button:has-text("Approve")').click();
  await expectText(row, /approved|provisioning|active/, 60000);
  const a = cli('allocation', 'show', env.ALLOC);
  if (!['approved', 'provisioning', 'active'].includes(a.state)) throw new Error(JSON.stringify(a));
});
// The period ends a moment after the approval, in the past: both reports
// see the same intervals, however long the page takes.
await new Promise((r) => setTimeout(r, 3000));
const TO = String(Math.floor(Date.now() / 1000) - 1);
await new Promise((r) => setTimeout(r, 1500));

// -- chargeback equals the CLI's report --
await check('the chargeback page\'s totals equal trellis report chargeback\'s', async () => {
  await admin.click('.tabs button:has-text("Chargeback")');
  await admin.fill('form[aria-label=Period] input[name=from]', env.FROM);
  await admin.fill('form[aria-label=Period] input[name=to]', TO);
  await admin.click('form[aria-label=Period] button[type=submit]');
  await admin.locator('[data-testid=chargeback-totals] tbody tr').first().waitFor();
  await new Promise((r) => setTimeout(r, 500));
  const page = await admin.locator('[data-testid=chargeback-totals] tbody tr').evaluateAll((rs) =>
    rs.map((r) => [...r.children].map((c) => c.textContent)));
  const rep = cli('report', 'chargeback', '--from', env.FROM, '--to', TO);
  const want = rep.totals.map((t) => [t.bu, t.reservation, t.allocation, t.total]);
  console.log(`# page ${JSON.stringify(page)}`);
  console.log(`# cli  ${JSON.stringify(want)}`);
  if (JSON.stringify(page) !== JSON.stringify(want)) throw new Error('they differ');
  if (!want.some((w) => w[3] !== '0.00')) throw new Error('every total is 0.00: nothing was charged');
  await snap(admin, 'bu-chargeback');
});
for (const [tab, name] of [['Quotas', 'bu-quotas'], ['Utilisation', 'bu-utilisation'], ['Audit', 'bu-audit']]) {
  await check(`the ${tab} tab shows without an error`, async () => {
    await admin.click(`.tabs button:has-text("${tab}")`);
    await admin.waitForTimeout(1500);
    if (await admin.locator('.error').count()) throw new Error(await admin.locator('.error').first().textContent());
    await snap(admin, name);
  });
}
await check('the audit trail filters by user', async () => {
  await admin.fill('form[aria-label="Filter the audit trail"] input[name=user]', 'admin');
  await admin.click('form[aria-label="Filter the audit trail"] button[type=submit]');
  let users = [];
  for (let i = 0; i < 50; i++) {
    users = await admin.locator('[data-testid=audit] tbody tr td:nth-child(3)').allTextContents();
    if (users.length && users.every((u) => u === 'admin')) break;
    await admin.waitForTimeout(200);
  }
  if (!users.length || users.some((u) => u !== 'admin')) throw new Error(users.join(','));
  await expectText(admin.locator('[data-testid=audit]'), /allocation\.approve/);
});

// -- the other pages --
await check('placement try shows where, or why not in the API\'s words', async () => {
  await admin.goto(`${env.URL}/#/placement`);
  await admin.fill('form[aria-label="Try a placement"] input[name=vcpus]', '1');
  await admin.fill('form[aria-label="Try a placement"] input[name=memory_mb]', '128');
  await admin.click('form[aria-label="Try a placement"] button[type=submit]');
  await expectText(admin.locator('[data-testid=placement-result]'), /pvh/);
  await admin.fill('form[aria-label="Try a placement"] input[name=memory_mb]', String(Number(env.BIG_MIB) * 100));
  await admin.click('form[aria-label="Try a placement"] button[type=submit]');
  await expectText(admin.locator('[data-testid=placement-result]'), /NOSPACE: no host fits.*capacity removed 1/);
  await snap(admin, 'placement');
});
await check('the workflows page lists the runs and draws a definition', async () => {
  await admin.goto(`${env.URL}/#/workflows`);
  await expectText(admin.locator('[data-testid=runs]'), new RegExp(runId));
  await snap(admin, 'workflows');
  await admin.click('.tabs button:has-text("Definitions")');
  await admin.locator('tr:has-text("vm.provision") button').click();
  await admin.locator('[data-testid=dag]').waitFor();
});
await check('the health page shows plugins and live figures', async () => {
  await admin.goto(`${env.URL}/#/health`);
  await expectText(admin.locator('[data-testid=plugins]'), /libvirt.*loaded/);
  if (env.CONSOLE === '1') await expectText(admin.locator('[data-testid=proxies]'), /cpd.*active/);
  await admin.waitForTimeout(4500);
  await admin.locator('.chart canvas').first().waitFor();
  await snap(admin, 'health');
});
await check('the dark theme applies', async () => {
  await admin.emulateMedia({ colorScheme: 'dark' });
  const bg = await admin.evaluate(() => getComputedStyle(document.body).backgroundColor);
  if (bg !== 'rgb(11, 18, 32)') throw new Error(bg);
  await snap(admin, 'health-dark');
});
await check('logout ends the session: the page asks for a login again', async () => {
  await admin.click('header button:has-text("Log out")');
  await admin.locator('input[name=user]').waitFor();
  const r = await admin.evaluate(async () => (await fetch('/api/v1/auth/session')).status);
  if (r !== 401) throw new Error(`session: ${r}`);
});
report(errors.length === 0, 'no script error in any page', errors.join('\n'));
await browser.close();
