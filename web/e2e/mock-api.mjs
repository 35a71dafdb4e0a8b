#!/usr/bin/env node
// A tiny fake SkyDeploy gateway for developing and testing the dashboard
// without the Go stack. It implements the /api contract with in-memory data,
// a fake build that streams an ANSI-coloured log over SSE, serves web/dist
// with SPA fallback at /, and serves fake deployed sites on
// http://<deployment-id or project>.localhost:<port>/ (Chromium resolves
// *.localhost to loopback).
//
//   node e2e/mock-api.mjs            # port 3001 (MOCK_PORT), serves ./dist
//
// Env: MOCK_PORT, MOCK_DIST (default web/dist), MOCK_TOKEN (require this bearer
// token), MOCK_MARKER (marker in sites deployed from the form),
// MOCK_OLD_MARKER / MOCK_NEW_MARKER (markers of the seeded project's older and
// newer deployment), MOCK_BUILD_MS (fake build length, default 4000),
// MOCK_BIG_LOG (seed a deployment "biglog" with that many log lines).
import http from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const PORT = Number(process.env.MOCK_PORT || 3001);
const DIST = resolve(process.env.MOCK_DIST || join(here, '..', 'dist'));
const TOKEN = process.env.MOCK_TOKEN || '';
const MARKER = process.env.MOCK_MARKER || 'SKYDEPLOY-MOCK-MARKER';
const OLD_MARKER = process.env.MOCK_OLD_MARKER || 'SKYDEPLOY-MOCK-OLD';
const NEW_MARKER = process.env.MOCK_NEW_MARKER || 'SKYDEPLOY-MOCK-NEW';
const BUILD_MS = Number(process.env.MOCK_BUILD_MS || 4000);
const BIG_LOG = Number(process.env.MOCK_BIG_LOG || 0);
const BASE = `localhost:${PORT}`;
const STEPS = ['clone', 'detect', 'upload', 'build', 'publish'];

/** @type {Map<string, any>} */
const deployments = new Map();
/** @type {Map<string, any>} */
const projects = new Map();
/** deployment id -> {lines: any[], subs: Set<res>, marker: string} */
const runtime = new Map();

const newId = () => randomBytes(5).toString('hex').slice(0, 8);
const now = () => new Date().toISOString();
const ago = (min) => new Date(Date.now() - min * 60_000).toISOString();
const siteUrl = (sub) => `http://${sub}.${BASE}/`;
const mask = (v) => `••••${String(v).slice(-4)}`;

// The answers follow the API's generated types (src/api.gen.ts, from gateway/openapi.yaml).

/** @returns {import('../src/api.gen').Project} */
function publicProject(p) {
  const { rawEnv, ...rest } = p;
  return {
    ...rest,
    env: rawEnv.map((e) => ({ key: e.key, value: e.secret ? mask(e.value) : e.value, secret: e.secret, target: e.target })),
  };
}
function publicDeployment(d) {
  const p = d.project && projects.get(d.project);
  return { ...d, live: !!p && p.liveDeploymentId === d.id };
}

function makeDeployment({ repoUrl, branch, project, production, marker, status = 'queued', createdAt = now(), overrides = {} }) {
  const id = newId();
  const d = {
    id,
    status,
    steps: STEPS.map((name) => ({ name, state: 'pending' })),
    repoUrl,
    branch: branch || 'main',
    project: project || undefined,
    production: !!production,
    commit: { sha: randomBytes(20).toString('hex'), message: `Update site for ${branch || 'main'}\n\nMore details.`, author: 'Ada Lovelace' },
    url: siteUrl(id),
    createdAt,
    workflowId: `deploy-${id}`,
    runId: randomBytes(8).toString('hex'),
    temporalUrl: `http://127.0.0.1:8233/namespaces/default/workflows/deploy-${id}`,
    overrides,
  };
  deployments.set(id, d);
  runtime.set(id, { lines: [], subs: new Set(), marker: marker || MARKER });
  return d;
}

function finishedSeed(d, status, minutesLong = 1) {
  const start = Date.parse(d.createdAt);
  d.status = status;
  d.plan = { kind: 'static', framework: 'static', frameworkName: 'Static HTML', packageManager: 'npm', outputDir: '.', nodeVersion: '20' };
  d.steps = STEPS.map((name, i) => ({
    name,
    state: status === 'failed' && name === 'build' ? 'failed' : status === 'failed' && i > 3 ? 'skipped' : 'succeeded',
    startedAt: new Date(start + i * 8000).toISOString(),
    finishedAt: new Date(start + (i + 1) * 8000).toISOString(),
  }));
  d.finishedAt = new Date(start + minutesLong * 60_000).toISOString();
  if (status === 'failed') d.error = 'build: command "npm run build" exited with status 1';
  const rt = runtime.get(d.id);
  rt.lines.push(logLine(d.id, 'clone', 'system', `Cloning ${d.repoUrl} (${d.branch})`));
  rt.lines.push(logLine(d.id, 'build', 'stdout', '\x1b[32m✓\x1b[0m built'));
  if (status === 'failed') rt.lines.push(logLine(d.id, 'build', 'stderr', '\x1b[31mError: missing script: build\x1b[0m'));
}

let seq = 0;
function logLine(id, step, stream, line) {
  const n = ++seq;
  return { id: `${Date.now()}-${n}`, step, stream, line, ts: now() };
}

function seed() {
  const p = {
    name: 'demo',
    repoUrl: 'https://git.example.test/acme/demo.git',
    productionBranch: 'main',
    rootDir: '',
    rawEnv: [
      { key: 'API_KEY', value: 'secret-abcdef', secret: true, target: 'production' },
      { key: 'NODE_ENV', value: 'production', secret: false, target: 'all' },
    ],
    watch: { enabled: true, interval: '1m0s', paused: false, previews: false },
    url: siteUrl('demo'),
    liveDeploymentId: '',
    createdAt: ago(120),
    updatedAt: ago(30),
  };
  projects.set(p.name, p);
  const older = makeDeployment({ repoUrl: p.repoUrl, branch: 'main', project: 'demo', production: true, marker: OLD_MARKER, createdAt: ago(90) });
  finishedSeed(older, 'succeeded');
  const failed = makeDeployment({ repoUrl: p.repoUrl, branch: 'main', project: 'demo', production: true, createdAt: ago(60) });
  finishedSeed(failed, 'failed');
  const newer = makeDeployment({ repoUrl: p.repoUrl, branch: 'main', project: 'demo', production: true, marker: NEW_MARKER, createdAt: ago(30) });
  finishedSeed(newer, 'succeeded', 2);
  p.liveDeploymentId = newer.id;
  const other = makeDeployment({ repoUrl: 'https://git.example.test/acme/blog.git', branch: 'feature/dark-mode', createdAt: ago(10) });
  finishedSeed(other, 'canceled');
  if (BIG_LOG > 0) {
    const big = makeDeployment({ repoUrl: 'https://git.example.test/acme/big.git', createdAt: ago(5) });
    deployments.delete(big.id);
    runtime.delete(big.id);
    big.id = 'biglog';
    big.url = siteUrl('biglog');
    deployments.set('biglog', big);
    runtime.set('biglog', { lines: [], subs: new Set(), marker: MARKER });
    finishedSeed(big, 'succeeded');
    const rt = runtime.get('biglog');
    for (let i = 0; i < BIG_LOG; i++) {
      rt.lines.push(logLine('biglog', 'build', i % 97 === 0 ? 'stderr' : 'stdout', `\x1b[36m[${i}]\x1b[0m compiling module \x1b[1mchunk-${i}\x1b[22m ${i % 1000 === 0 ? '\x1b[33mwarning: large chunk\x1b[0m' : 'ok'}`));
    }
  }
}

// ---------------------------------------------------------------------------
// Fake build

function emit(id, event, data, eventId) {
  const rt = runtime.get(id);
  if (!rt) return;
  for (const res of rt.subs) sseWrite(res, event, data, eventId);
}

function push(id, step, stream, line) {
  const l = logLine(id, step, stream, line);
  runtime.get(id).lines.push(l);
  emit(id, 'log', l, l.id);
}

function setStep(d, name, state) {
  const s = d.steps.find((x) => x.name === name);
  s.state = state;
  if (state === 'running') s.startedAt = now();
  else s.finishedAt = now();
  d.step = name;
  emit(d.id, 'status', publicDeployment(d));
}

function finish(d, status, error) {
  if (d.status === 'succeeded' || d.status === 'failed' || d.status === 'canceled') return;
  d.status = status;
  d.finishedAt = now();
  if (error) d.error = error;
  for (const s of d.steps) {
    if (s.state === 'running') {
      s.state = status === 'canceled' ? 'canceled' : status === 'failed' ? 'failed' : 'succeeded';
      s.finishedAt = now();
    } else if (s.state === 'pending') s.state = status === 'canceled' ? 'canceled' : 'skipped';
  }
  if (status === 'succeeded' && d.project && d.production) {
    const p = projects.get(d.project);
    if (p) p.liveDeploymentId = d.id;
  }
  push(d.id, d.step || 'publish', 'system', status === 'succeeded' ? `\x1b[32mDeployed to ${d.url}\x1b[0m` : `Deployment ${status}${error ? `: ${error}` : ''}`);
  emit(d.id, 'status', publicDeployment(d));
  emit(d.id, 'end', { status });
  for (const res of runtime.get(d.id).subs) res.end();
  runtime.get(d.id).subs.clear();
}

async function runBuild(d) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const unit = BUILD_MS / 10;
  const live = () => d.status === 'running' || d.status === 'queued';
  await sleep(unit / 2);
  d.status = 'running';
  const fail = /fail/.test(d.repoUrl);
  const phases = [
    ['clone', 1, [`Cloning \x1b[1m${d.repoUrl}\x1b[22m (branch ${d.branch})`, `HEAD is now at ${d.commit.sha.slice(0, 7)} ${d.commit.message.split('\n')[0]}`]],
    ['detect', 1, ['Detected \x1b[35mStatic HTML\x1b[0m (no package.json)', 'Output directory: .']],
    ['upload', 1, ['Uploading source to the builder…', 'Uploaded 3 files (4.2 kB)']],
    ['build', 5, ['\x1b[2m$ npm ci\x1b[22m', 'added 0 packages in 0.2s', '\x1b[2m$ npm run build\x1b[22m', '\x1b[33mwarn\x1b[39m nothing to build for a static site', '\x1b[32m✓\x1b[39m build finished']],
    ['publish', 1, ['Publishing 3 files…', 'Aliasing URL']],
  ];
  for (const [step, weight, lines] of phases) {
    if (!live()) return;
    setStep(d, step, 'running');
    if (step === 'detect') d.plan = { kind: 'static', framework: 'static', frameworkName: 'Static HTML', packageManager: 'npm', outputDir: '.', nodeVersion: '20' };
    const per = (unit * weight) / lines.length;
    for (const l of lines) {
      await sleep(per);
      if (!live()) return;
      push(d.id, step, l.startsWith('\x1b[33mwarn') ? 'stderr' : 'stdout', l);
    }
    if (step === 'build' && fail) {
      push(d.id, step, 'stderr', '\x1b[31mnpm ERR!\x1b[39m Missing script: "build"');
      setStep(d, step, 'failed');
      finish(d, 'failed', 'build: command "npm run build" exited with status 1');
      return;
    }
    setStep(d, step, 'succeeded');
  }
  finish(d, 'succeeded');
}

function startDeployment(opts) {
  const d = makeDeployment(opts);
  push(d.id, 'clone', 'system', `Deployment ${d.id} queued`);
  void runBuild(d);
  return d;
}

// ---------------------------------------------------------------------------
// HTTP

function send(res, status, body, headers = {}) {
  const data = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
  res.end(data);
}
const fail = (res, status, error) => send(res, status, { error });

function sseWrite(res, event, data, id) {
  let s = '';
  if (id) s += `id: ${id}\n`;
  s += `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  res.write(s);
}

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  return JSON.parse(text);
}

const isHttp = (s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
};

function projectInput(body, existing) {
  if (!body || typeof body !== 'object') return { error: 'invalid JSON body' };
  if (!existing && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(body.name || '')) return { error: 'name must be a DNS label (lowercase letters, digits, hyphens)' };
  if (!isHttp(body.repoUrl || '')) return { error: 'repoUrl must be an http(s) URL' };
  if (!body.productionBranch) return { error: 'productionBranch is required' };
  const rawEnv = [];
  /** @type {import('../src/api.gen').EnvVarInput[]} */
  const entries = body.env || [];
  for (const e of entries) {
    const old = existing?.rawEnv.find((x) => x.key === e.key);
    if (e.value === undefined && !old) return { error: `env ${e.key}: value is required for a new variable` };
    if (e.target !== undefined && !['production', 'preview', 'all'].includes(e.target)) return { error: `env ${e.key}: target must be production, preview or all` };
    const secret = e.secret ?? old?.secret ?? true;
    rawEnv.push({ key: e.key, value: e.value ?? old.value, secret, target: e.target ?? old?.target ?? (secret ? 'production' : 'all') });
  }
  return {
    value: {
      name: existing ? existing.name : body.name,
      repoUrl: body.repoUrl,
      productionBranch: body.productionBranch,
      rootDir: body.rootDir || '',
      installCommand: body.installCommand || '',
      buildCommand: body.buildCommand || '',
      outputDir: body.outputDir || '',
      rawEnv,
      watch: { enabled: !!body.watch?.enabled, interval: body.watch?.interval || '1m0s', paused: !!body.watch?.paused, previews: !!body.watch?.previews },
    },
  };
}

function page(list, url) {
  const size = Math.max(1, Math.min(100, Number(url.searchParams.get('pageSize') || 20)));
  const start = Number(url.searchParams.get('pageToken') || 0) || 0;
  const items = list.slice(start, start + size).map(publicDeployment);
  const next = start + size < list.length ? String(start + size) : '';
  return { deployments: items, nextPageToken: next };
}

const sorted = () => [...deployments.values()].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));

async function api(req, res, url) {
  const path = url.pathname;
  const m = (re) => path.match(re);
  if (path === '/api/config' && req.method === 'GET') {
    return send(res, 200, { baseDomain: BASE, temporalUIURL: 'http://127.0.0.1:8233', temporalNamespace: 'default', authRequired: !!TOKEN, version: '0.0.0-mock' });
  }
  if (TOKEN && req.headers.authorization !== `Bearer ${TOKEN}`) return fail(res, 401, 'missing or invalid API token');

  let r;
  if (path === '/api/deployments') {
    if (req.method === 'GET') {
      const project = url.searchParams.get('project');
      const status = url.searchParams.get('status');
      let list = sorted();
      if (project) list = list.filter((d) => d.project === project);
      if (status) list = list.filter((d) => (status === 'running' ? d.status === 'running' || d.status === 'queued' : d.status === status));
      return send(res, 200, page(list, url));
    }
    if (req.method === 'POST') {
      let body;
      try {
        body = await readJson(req);
      } catch {
        return fail(res, 400, 'invalid JSON body');
      }
      if (!body.repoUrl) return fail(res, 400, 'repoUrl is required');
      if (!isHttp(body.repoUrl)) return fail(res, 400, 'repoUrl must be an http(s) URL');
      if (/unreachable/.test(body.repoUrl)) return fail(res, 422, `repository ${body.repoUrl} is not reachable: authentication required`);
      if (body.project && !projects.has(body.project)) return fail(res, 422, `project ${body.project} does not exist`);
      const d = startDeployment({ repoUrl: body.repoUrl, branch: body.branch, project: body.project, overrides: body });
      return send(res, 202, { id: d.id, url: d.url, workflowId: d.workflowId });
    }
  }
  if ((r = m(/^\/api\/deployments\/([^/]+)(\/[a-z]+)?$/))) {
    const d = deployments.get(decodeURIComponent(r[1]));
    if (!d) return fail(res, 404, 'deployment not found');
    const action = r[2];
    if (!action && req.method === 'GET') return send(res, 200, publicDeployment(d));
    if (action === '/logs' && req.method === 'GET') return logs(req, res, d);
    if (action === '/cancel' && req.method === 'POST') {
      if (d.status !== 'running' && d.status !== 'queued') return fail(res, 409, 'deployment is not running');
      setTimeout(() => finish(d, 'canceled'), 200);
      return send(res, 202, { id: d.id });
    }
    if (action === '/redeploy' && req.method === 'POST') {
      const n = startDeployment({ repoUrl: d.repoUrl, branch: d.branch, project: d.project, production: d.production, marker: runtime.get(d.id).marker });
      return send(res, 202, { id: n.id, url: n.url, workflowId: n.workflowId });
    }
  }
  if (path === '/api/projects') {
    if (req.method === 'GET') return send(res, 200, { projects: [...projects.values()].map(publicProject) });
    if (req.method === 'POST') {
      const { value, error } = projectInput(await readJson(req).catch(() => null));
      if (error) return fail(res, 400, error);
      if (projects.has(value.name)) return fail(res, 409, `project ${value.name} already exists`);
      const p = { ...value, url: siteUrl(value.name), liveDeploymentId: '', createdAt: now(), updatedAt: now() };
      projects.set(p.name, p);
      return send(res, 201, publicProject(p));
    }
  }
  if ((r = m(/^\/api\/projects\/([^/]+)(\/[a-z]+)?$/))) {
    const p = projects.get(decodeURIComponent(r[1]));
    if (!p) return fail(res, 404, 'project not found');
    const action = r[2];
    if (!action && req.method === 'GET') return send(res, 200, publicProject(p));
    if (!action && req.method === 'PUT') {
      const { value, error } = projectInput(await readJson(req).catch(() => null), p);
      if (error) return fail(res, 400, error);
      Object.assign(p, value, { updatedAt: now() });
      return send(res, 200, publicProject(p));
    }
    if (!action && req.method === 'DELETE') {
      projects.delete(p.name);
      res.writeHead(204).end();
      return;
    }
    if (action === '/deployments' && req.method === 'GET') return send(res, 200, page(sorted().filter((d) => d.project === p.name), url));
    if (action === '/rollback' && req.method === 'POST') {
      const body = await readJson(req).catch(() => ({}));
      const d = deployments.get(body.deploymentId);
      if (!d || d.project !== p.name) return fail(res, 404, 'deployment not found in this project');
      if (d.status !== 'succeeded') return fail(res, 422, 'only a succeeded deployment can go live');
      p.liveDeploymentId = d.id;
      p.updatedAt = now();
      return send(res, 200, publicProject(p));
    }
    if (action === '/deploy' && req.method === 'POST') {
      const d = startDeployment({ repoUrl: p.repoUrl, branch: p.productionBranch, project: p.name, production: true });
      return send(res, 202, { id: d.id, url: d.url, workflowId: d.workflowId });
    }
    if (action === '/poll' && req.method === 'POST') return send(res, 202, { ok: true });
    if (action === '/domains' && req.method === 'GET') return send(res, 200, { domains: [] });
    if (action === '/pause' && req.method === 'POST') {
      p.watch.paused = true;
      return send(res, 200, { ok: true });
    }
    if (action === '/resume' && req.method === 'POST') {
      p.watch.paused = false;
      return send(res, 200, { ok: true });
    }
  }
  return fail(res, 404, 'not found');
}

function logs(req, res, d) {
  const rt = runtime.get(d.id);
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  const last = req.headers['last-event-id'];
  let start = 0;
  if (last) {
    const i = rt.lines.findIndex((l) => l.id === last);
    if (i >= 0) start = i + 1;
  }
  let buf = '';
  for (let i = start; i < rt.lines.length; i++) {
    const l = rt.lines[i];
    buf += `id: ${l.id}\nevent: log\ndata: ${JSON.stringify(l)}\n\n`;
    if (buf.length > 64 * 1024) {
      res.write(buf);
      buf = '';
    }
  }
  if (buf) res.write(buf);
  sseWrite(res, 'status', publicDeployment(d));
  if (d.status === 'succeeded' || d.status === 'failed' || d.status === 'canceled') {
    sseWrite(res, 'end', { status: d.status });
    res.end();
    return;
  }
  rt.subs.add(res);
  const ping = setInterval(() => res.write(': ping\n\n'), 15000);
  req.on('close', () => {
    clearInterval(ping);
    rt.subs.delete(res);
  });
}

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.json': 'application/json', '.png': 'image/png', '.ico': 'image/x-icon' };

async function staticFile(req, res, url) {
  const rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
  let file = join(DIST, rel);
  if (!file.startsWith(DIST)) return fail(res, 400, 'bad path');
  try {
    const s = await stat(file);
    if (s.isDirectory()) file = join(file, 'index.html');
    const body = await readFile(file);
    const immutable = rel.startsWith('assets/');
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream', 'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' });
    return res.end(body);
  } catch {
    if (extname(rel) && rel !== '') {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found');
    }
    // SPA fallback: unknown paths without an extension get index.html.
    try {
      const body = await readFile(join(DIST, 'index.html'));
      res.writeHead(200, { 'Content-Type': TYPES['.html'], 'Cache-Control': 'no-cache' });
      return res.end(body);
    } catch {
      res.writeHead(503, { 'Content-Type': 'text/plain' });
      return res.end('dashboard not built: run npm run build');
    }
  }
}

function site(res, sub) {
  let marker;
  let title = sub;
  const d = deployments.get(sub);
  if (d && d.status === 'succeeded') marker = runtime.get(d.id).marker;
  const p = projects.get(sub);
  if (!marker && p?.liveDeploymentId) {
    marker = runtime.get(p.liveDeploymentId)?.marker;
    title = `${p.name} (${p.liveDeploymentId})`;
  }
  if (!marker) {
    res.writeHead(404, { 'Content-Type': 'text/html; charset=utf-8' });
    return res.end('<!doctype html><title>Not found</title><h1>No deployment here</h1>');
  }
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><link rel="icon" href="data:,"></head><body><h1>${marker}</h1><p>Served by the SkyDeploy mock for ${title}.</p></body></html>`);
}

seed();

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, `http://${req.headers.host || BASE}`);
    const host = (req.headers.host || '').split(':')[0];
    if (host.endsWith('.localhost')) return site(res, host.slice(0, -'.localhost'.length).split('.').pop());
    if (url.pathname.startsWith('/api/')) return await api(req, res, url);
    return await staticFile(req, res, url);
  } catch (e) {
    console.error(e);
    if (!res.headersSent) fail(res, 500, 'internal error');
    else res.end();
  }
});

server.listen(PORT, '127.0.0.1', () => {
  const seeded = [...deployments.values()].filter((d) => d.project === 'demo' && d.status === 'succeeded');
  console.log(JSON.stringify({
    listening: `http://127.0.0.1:${PORT}`,
    project: 'demo',
    projectUrl: siteUrl('demo'),
    olderDeployment: seeded.find((d) => runtime.get(d.id).marker === OLD_MARKER)?.id,
    newerDeployment: seeded.find((d) => runtime.get(d.id).marker === NEW_MARKER)?.id,
  }));
});

for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 500).unref());
