#!/usr/bin/env node
// Prints the raw and gzipped size of the built JS and CSS in dist/assets.
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const dir = new URL('../dist/assets/', import.meta.url).pathname;
let js = 0;
let jsGz = 0;
for (const f of readdirSync(dir).sort()) {
  const buf = readFileSync(join(dir, f));
  const gz = gzipSync(buf, { level: 9 }).length;
  console.log(`${f.padEnd(32)} ${(buf.length / 1024).toFixed(1).padStart(8)} KiB  gzip ${(gz / 1024).toFixed(1).padStart(6)} KiB`);
  if (f.endsWith('.js')) {
    js += buf.length;
    jsGz += gz;
  }
}
const limit = 150;
console.log(`JS total: ${(js / 1024).toFixed(1)} KiB, gzip ${(jsGz / 1024).toFixed(1)} KiB (budget ${limit} KiB)`);
if (jsGz / 1024 > limit) {
  console.error('over the JS size budget');
  process.exit(1);
}
