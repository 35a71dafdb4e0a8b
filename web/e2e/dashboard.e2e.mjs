#!/usr/bin/env node
// Browser end-to-end test of the SkyDeploy dashboard, driven by playwright-core
// and the system Chromium. The Go test harness starts the stack and runs:
//
//   node web/e2e/dashboard.e2e.mjs
//
// Required env:
//   SKYDEPLOY_E2E_API        gateway base URL serving the dashboard and /api, e.g. http://127.0.0.1:3001
//   SKYDEPLOY_E2E_REPO       git repository URL that deploys a static site
//   SKYDEPLOY_E2E_MARKER     text in that site's index.html
// Project part (skipped unless SKYDEPLOY_E2E_PROJECT is set):
//   SKYDEPLOY_E2E_PROJECT             project that already has two successful deployments (the newer one live)
//   SKYDEPLOY_E2E_PROJECT_OLD_MARKER  marker served by the older deployment
//   SKYDEPLOY_E2E_PROJECT_URL         project URL (default: the project's url from the API)
// Optional:
//   SKYDEPLOY_E2E_BRANCH       branch typed into the new-deployment form (default: empty = default branch)
//   SKYDEPLOY_E2E_TOKEN        API token when the gateway requires auth
//   SKYDEPLOY_E2E_ARTIFACTS    screenshot folder (default: <repo>/test-artifacts/screenshots)
//   SKYDEPLOY_E2E_TIMEOUT_MS   how long to wait for a deployment to succeed (default 180000)
//   SKYDEPLOY_E2E_CHROMIUM     Chromium binary (default /usr/bin/chromium)
//   SKYDEPLOY_E2E_HEADED=1     show the browser (needs a display)
//
// Exit status 0 on success, 1 on any failure, including any console error or
// uncaught page error on the dashboard.
import { chromium } from 'playwright-core';
import { mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;

function need(name) {
  const v = env[name];
  if (!v) {
    console.error(`e2e: ${name} is required`);
    process.exit(1);
  }
  return v;
}

const API = need('SKYDEPLOY_E2E_API').replace(/\/$/, '');
const REPO = need('SKYDEPLOY_E2E_REPO');
const MARKER = need('SKYDEPLOY_E2E_MARKER');
const BRANCH = env.SKYDEPLOY_E2E_BRANCH || '';
const TOKEN = env.SKYDEPLOY_E2E_TOKEN || '';
const PROJECT = env.SKYDEPLOY_E2E_PROJECT || '';
const OLD_MARKER = env.SKYDEPLOY_E2E_PROJECT_OLD_MARKER || '';
const TIMEOUT = Number(env.SKYDEPLOY_E2E_TIMEOUT_MS || 180_000);
const artifactsEnv = env.SKYDEPLOY_E2E_ARTIFACTS;
const ARTIFACTS = artifactsEnv ? (isAbsolute(artifactsEnv) ? artifactsEnv : resolve(artifactsEnv)) : resolve(webDir, '../test-artifacts/screenshots');
if (PROJECT && !OLD_MARKER) {
  console.error('e2e: SKYDEPLOY_E2E_PROJECT_OLD_MARKER is required with SKYDEPLOY_E2E_PROJECT');
  process.exit(1);
}

const t0 = Date.now();
const log = (...a) => console.log(`[e2e +${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

async function apiFetch(path, init = {}) {
  const headers = { Accept: 'application/json', ...(init.body ? { 'Content-Type': 'application/json' } : {}), ...(init.headers || {}) };
  if (TOKEN) headers.Authorization = `Bearer ${TOKEN}`;
  const res = await fetch(`${API}${path}`, { ...init, headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method || 'GET'} ${path}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const errors = [];
const dashboardOrigin = new URL(API).origin;
function watchPage(page, label) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = page.url();
    const text = `${label}: console error at ${where}: ${msg.text()}`;
    // Fail on errors from the dashboard; errors of the deployed sites are theirs.
    if (where.startsWith(dashboardOrigin) || where === 'about:blank') errors.push(text);
    else log(`(ignored, not the dashboard) ${text}`);
  });
  page.on('pageerror', (err) => {
    const where = page.url();
    const text = `${label}: page error at ${where}: ${err.stack || err.message}`;
    if (where.startsWith(dashboardOrigin)) errors.push(text);
    else log(`(ignored, not the dashboard) ${text}`);
  });
  page.on('requestfailed', (req) => {
    const f = req.failure()?.errorText || '';
    if (!/ERR_ABORTED/.test(f)) log(`request failed: ${req.method()} ${req.url()} ${f}`);
  });
}

function checkErrors(step) {
  if (errors.length) throw new Error(`browser errors during "${step}":\n  ${errors.join('\n  ')}`);
}

async function shot(page, name) {
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${file}`);
}

/** Opens url until its body contains text (sites may take a moment to go live). */
async function waitForText(page, url, text, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const u = new URL(url);
      u.searchParams.set('e2e', String(Date.now())); // defeat caches
      const res = await page.goto(u.toString(), { waitUntil: 'load', timeout: 10_000 });
      last = `HTTP ${res?.status()}: ${(await page.textContent('body').catch(() => '')).slice(0, 200)}`;
      if (res?.ok() && (await page.textContent('body'))?.includes(text)) return;
    } catch (e) {
      last = String(e?.message || e).split('\n')[0];
    }
    if (Date.now() > deadline) throw new Error(`${url} did not show "${text}" within ${timeoutMs} ms (last: ${last})`);
    await page.waitForTimeout(500);
  }
}

async function main() {
  await mkdir(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: env.SKYDEPLOY_E2E_CHROMIUM || '/usr/bin/chromium',
    headless: env.SKYDEPLOY_E2E_HEADED !== '1',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    if (TOKEN) await context.addInitScript((t) => localStorage.setItem('skydeploy.token', t), TOKEN);
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    watchPage(page, 'dashboard');

    // 1. The deployments list.
    log(`open ${API}/`);
    await page.goto(`${API}/`, { waitUntil: 'load' });
    await page.waitForSelector('[data-testid="deployments-list"], [data-testid="empty-state"]');
    if (!(await page.title()).includes('Deployments')) throw new Error(`unexpected title: ${await page.title()}`);
    await shot(page, '01-deployments-list');
    checkErrors('deployments list');

    // 2. Create a deployment from the form.
    await page.click('[data-testid="new-deployment-toggle"]');
    await page.fill('[data-testid="new-deployment-repo"]', REPO);
    if (BRANCH) await page.fill('[data-testid="new-deployment-branch"]', BRANCH);
    await shot(page, '02-new-deployment-form');
    await page.click('[data-testid="new-deployment-submit"]');
    const formError = page.locator('[data-testid="new-deployment-error"]');
    await Promise.race([
      page.waitForURL(/\/deployments\/[^/]+$/, { timeout: 30_000 }),
      formError.waitFor({ timeout: 30_000 }).then(async () => {
        throw new Error(`the form showed an error: ${await formError.textContent()}`);
      }),
    ]);
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
    log(`created deployment ${id}`);

    // 3. The detail page streams the log.
    await page.waitForSelector('[data-testid="deployment-detail"]');
    await page.waitForSelector('[data-testid="log-line"]', { timeout: 60_000 });
    // Give the build a moment to write a few more lines for the screenshot.
    await page
      .waitForFunction(() => document.querySelectorAll('[data-testid="log-line"]').length >= 4, null, { timeout: 5_000 })
      .catch(() => {});
    await shot(page, '03-detail-mid-build');
    checkErrors('deployment detail');

    // 4. Wait for success.
    const status = page.locator('[data-testid="deployment-status"]');
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      const s = await status.getAttribute('data-status').catch(() => null);
      if (s === 'succeeded') break;
      if (s === 'failed' || s === 'canceled') {
        await shot(page, '04-detail-finished');
        const err = await page.locator('[data-testid="deployment-error"]').textContent().catch(() => '');
        throw new Error(`deployment ${id} ${s}: ${err}`);
      }
      if (Date.now() > deadline) {
        await shot(page, '04-detail-timeout');
        throw new Error(`deployment ${id} did not succeed within ${TIMEOUT} ms (status ${s})`);
      }
      await page.waitForTimeout(500);
    }
    await page.waitForSelector('[data-testid="log-state"][data-state="ended"]', { timeout: 30_000 });
    const lines = await page.locator('[data-testid="log-line-count"]').textContent();
    log(`deployment ${id} succeeded; log has ${lines}`);
    await shot(page, '04-detail-succeeded');
    checkErrors('deployment succeeded');
    const url = await page.locator('[data-testid="deployment-url"]').getAttribute('href');
    if (!url) throw new Error('no deployment URL link');

    // 5. The deployed site shows the marker.
    const site = await context.newPage();
    watchPage(site, 'site');
    log(`open ${url}`);
    await waitForText(site, url, MARKER, 30_000);
    await shot(site, '05-deployed-site');
    await site.close();

    // 6. Back to the list: the new deployment is there and ready.
    await page.click('[data-testid="nav-deployments"]');
    await page.waitForSelector(`[data-testid="deployment-row"][data-id="${id}"][data-status="succeeded"]`);
    await shot(page, '06-deployments-list-after');
    checkErrors('deployments list after');

    // 7. Projects: roll back to the older deployment.
    if (PROJECT) {
      const project = await apiFetch(`/api/projects/${encodeURIComponent(PROJECT)}`);
      const { deployments } = await apiFetch(`/api/projects/${encodeURIComponent(PROJECT)}/deployments?pageSize=50`);
      const live = deployments.find((d) => d.id === project.liveDeploymentId);
      const older = deployments
        .filter((d) => d.status === 'succeeded' && d.id !== project.liveDeploymentId && (!live || Date.parse(d.createdAt) < Date.parse(live.createdAt)))
        .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
      if (!older) throw new Error(`project ${PROJECT} has no earlier successful deployment to roll back to (live: ${project.liveDeploymentId})`);
      const projectUrl = env.SKYDEPLOY_E2E_PROJECT_URL || project.url;
      log(`project ${PROJECT}: live ${project.liveDeploymentId}, rolling back to ${older.id}; URL ${projectUrl}`);

      await page.goto(`${API}/projects/${encodeURIComponent(PROJECT)}`, { waitUntil: 'load' });
      await page.waitForSelector(`[data-testid="project-deployment-row"][data-id="${older.id}"]`);
      await shot(page, '07-project');
      await page.click(`[data-testid="rollback-button"][data-id="${older.id}"]`);
      await page.waitForSelector(`[data-testid="project-deployment-row"][data-id="${older.id}"] [data-testid="live-badge"]`, { timeout: 15_000 });
      await shot(page, '08-project-rolled-back');
      checkErrors('project rollback');

      const check = await context.newPage();
      watchPage(check, 'project site');
      await waitForText(check, projectUrl, OLD_MARKER, 15_000);
      await shot(check, '09-project-url-old-marker');
      await check.close();
      log(`project URL serves the older deployment (${OLD_MARKER})`);
    } else {
      log('SKYDEPLOY_E2E_PROJECT not set: skipping the project part');
    }
    checkErrors('end');
    log('PASS');
  } finally {
    await browser.close();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`[e2e] FAIL: ${e?.stack || e}`);
    process.exit(1);
  },
);
