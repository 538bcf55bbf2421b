// SPDX-License-Identifier: Apache-2.0
// Writes a .gz twin (gzip -9) beside every text file of the built
// dashboard, which trellisd sends to browsers that take gzip, and prints
// the compressed size of what the first load fetches (index.html and
// the assets it names, not the lazy chunks).
//   node tools/compress.mjs DIR
import { readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: compress.mjs DIR');
  process.exit(2);
}
const sizes = {};
function walk(d) {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(html|js|css|svg|json|txt)$/.test(name)) {
      const gz = gzipSync(readFileSync(p), { level: 9 });
      writeFileSync(p + '.gz', gz);
      sizes[p.slice(dir.length)] = gz.length;
    }
  }
}
walk(dir);
const html = readFileSync(join(dir, 'index.html'), 'utf8');
let first = sizes['/index.html'] || 0;
for (const m of html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g))
  first += sizes[m[1]] || 0;
console.log(`dashboard: first load ${(first / 1024).toFixed(1)} KiB compressed`);
if (first > 300 * 1024) {
  console.error('dashboard: the first load is over 300 KiB compressed');
  process.exit(1);
}
