#!/usr/bin/env node
// Runs dashboard.e2e.mjs against e2e/mock-api.mjs (which serves ./dist):
//   npm run build && npm run e2e:mock
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});

const mockEnv = { ...process.env, MOCK_PORT: String(port), MOCK_BUILD_MS: process.env.MOCK_BUILD_MS || '5000' };
const mock = spawn(process.execPath, [join(here, 'mock-api.mjs')], { env: mockEnv, stdio: ['ignore', 'pipe', 'inherit'] });
const info = await new Promise((res, rej) => {
  let buf = '';
  mock.stdout.on('data', (c) => {
    buf += c;
    const nl = buf.indexOf('\n');
    if (nl >= 0) res(JSON.parse(buf.slice(0, nl)));
  });
  mock.on('exit', (code) => rej(new Error(`mock API exited (${code})`)));
});
console.log('mock API:', info);

const e2e = spawn(process.execPath, [join(here, 'dashboard.e2e.mjs')], {
  stdio: 'inherit',
  env: {
    ...process.env,
    SKYDEPLOY_E2E_API: info.listening,
    SKYDEPLOY_E2E_REPO: 'https://git.example.test/acme/site.git',
    SKYDEPLOY_E2E_MARKER: 'SKYDEPLOY-MOCK-MARKER',
    SKYDEPLOY_E2E_PROJECT: info.project,
    SKYDEPLOY_E2E_PROJECT_URL: info.projectUrl,
    SKYDEPLOY_E2E_PROJECT_OLD_MARKER: 'SKYDEPLOY-MOCK-OLD',
  },
});
const code = await new Promise((res) => e2e.on('exit', (c) => res(c ?? 1)));
mock.kill('SIGTERM');
process.exit(code);
