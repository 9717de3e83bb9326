// console.test.js - the operator's console in a real browser (docs/web.md): Debian's chromium,
// driven headless by playwright-core (pinned in package-lock.json, installed by scripts/setup.sh
// into ~/.cache/elastos/node), run by tests/cli/test_console.sh against its daemon. It opens the
// login URL (the cookie is set by the 303), sees the running capsule and its pending storage
// request, allows it for the run by clicking, checks that the capsule's read succeeds, revokes
// the capsule's token by clicking, and checks that its next read fails. A screenshot of the
// console with the pending request is saved to ELASTOS_SHOT.
// Environment: ELASTOS_BIN (elastos), ELASTOS_LOGIN (the URL `elastos console` printed),
// ELASTOS_READER (the instance id of a servetest reader waiting for its storage request),
// ELASTOS_SHOT (the screenshot's path), ELASTOS_CAPSULE (servetest's artifact, for a second reader).
'use strict';
const { chromium } = require('playwright-core');
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const E = process.env.ELASTOS_BIN, login = process.env.ELASTOS_LOGIN, reader = process.env.ELASTOS_READER;
const shot = process.env.ELASTOS_SHOT;

// The reader's output so far (elastos logs).
function logs() {
  return execFileSync(E, ['logs', reader]).toString();
}

// Waits until fn() is true, for up to 30 s (bounds a hang; nothing is timed).
async function until(fn, what) {
  for (let i = 0; i < 300; i++) {
    // a page the console's script is reloading has no context for a moment: look again
    if (await Promise.resolve().then(fn).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('waited 30 s for ' + what);
}

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok: ' + what);
}

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'elastos-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = ctx.pages()[0] || (await ctx.newPage());
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('response', (r) => { if (r.status() >= 400) errors.push(r.status() + ' ' + r.url()); });
    const resp = await page.goto(login);
    check(resp.status() === 200 && new URL(page.url()).pathname === '/console', 'the login URL leads to /console');
    const cookies = await ctx.cookies();
    const c = cookies.find((k) => k.name === 'elastos_console');
    check(c && c.httpOnly && c.sameSite === 'Strict', 'an HttpOnly, SameSite=Strict session cookie');
    check((await page.textContent('h1')) === 'elastos console', 'the console page');

    const row = `tr.inst[data-id="${reader}"]`;
    await until(async () => {
      await page.reload();
      return (await page.$(`${row} td.state`)) && (await page.$('#pending .req'));
    }, 'the running capsule and its pending request');
    check((await page.textContent(`${row} td.state`)).startsWith('running'), 'the capsule is shown running');
    check((await page.textContent(`${row} td.name`)) === 'servetest', 'by its name');
    const req = await page.textContent('#pending .req');
    check(req.includes('servetest') && req.includes('read') && req.includes('localhost://storage/*'),
      'the pending request names the capsule, the action and the resource');
    await page.screenshot({ path: shot, fullPage: true });
    check(!logs().includes('reader: token'), 'the capsule waits for the answer');
    // its one script (app.js) reloads the page when the pending set changes: it stays put now
    const url = page.url();
    await page.waitForTimeout(2500);
    check(page.url() === url && !!(await page.$('#pending .req')), 'the page stays while nothing changes');

    const [answered] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click('#pending .req button[value="run"]')]);
    check(answered.status() === 303, 'the answer is taken (303; got ' + answered.status() + ')');
    await page.waitForLoadState();
    await until(() => logs().includes('reader: read ok: hello'), "the capsule's read after the answer: " + logs());
    check(true, "clicking 'allow for the run' lets the capsule's storage read succeed");
    check(!(await page.$('#pending .req')), 'the request is no longer pending');

    const tok = `tr.token[data-holder="${reader}"] button`;
    await until(async () => { await page.reload(); return !!(await page.$(tok)); }, "the capsule's token");
    const [revoked] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click(tok)]);
    check(revoked.status() === 303, 'the revocation is taken (303; got ' + revoked.status() + ')');
    await page.waitForLoadState();
    await until(() => logs().includes('reader: read failed: revoked'), 'the read after the revocation');
    check(true, "clicking 'revoke' makes the capsule's next read fail");
    check(!(await page.$(tok)), 'the token is no longer listed as active');

    // A new request shows up by itself (app.js reloads the page; no reload here), and deny by a
    // click reaches that capsule.
    const second = execFileSync(E, ['run', '--detach', process.env.ELASTOS_CAPSULE, '--', 'reader',
      'localhost://storage/note']).toString().trim();
    await until(async () => !!(await page.$(`#pending .req[data-instance="${second}"]`)),
      'the new request on the page without a reload');
    check(true, 'a new pending request appears by itself');
    await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click(`#pending .req[data-instance="${second}"] button[value="deny"]`)]);
    await until(() => execFileSync(E, ['logs', second]).toString().includes('denied in the console'),
      'the denial reaching the capsule');
    check(true, "clicking 'deny' denies the capsule's request");
    check(errors.length === 0, 'no errors in the browser console: ' + errors.join('; '));
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
