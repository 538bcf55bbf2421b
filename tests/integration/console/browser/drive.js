// SPDX-License-Identifier: Apache-2.0
// drive.js - a real browser (Debian's chromium through playwright-core)
// against trellis-console, for tests/integration/console/*.t.
//   node drive.js STEPS_JSON
// STEPS_JSON is a list of steps, run in order on one page:
//   {"goto": URL}                 open a page
//   {"wait": STATE, "ms": N}      until window.trellis.state is STATE
//   {"waitUrl": REGEX, "ms": N}   until the page's URL matches
//   {"compare": FILE}            the console's canvas against a PPM or PNG
//                                 (virsh screenshot): pixels that differ
//   {"type": TEXT}                click the console, type TEXT (\n: Enter)
//   {"sleep": MS}
//   {"eval": JS}                  a page expression's value
//   {"exec": CMD}                 a shell command, at that moment
// Prints one JSON object per step, then {"done": true}.  The certificate
// is the proxy's self-signed one: the context accepts it.
'use strict';
const { chromium } = require('playwright-core');
const fs = require('fs');

// A non-interlaced 8-bit RGB or RGBA PNG (what virsh screenshot writes
// with a recent QEMU) as {w, h, rgb}.
function readPNG(b) {
  const zlib = require('zlib');
  let pos = 8, w = 0, h = 0, type = 0;
  const idat = [];
  while (pos < b.length) {
    const len = b.readUInt32BE(pos), t = b.toString('ascii', pos + 4, pos + 8);
    const d = b.subarray(pos + 8, pos + 8 + len);
    if (t === 'IHDR') {
      w = d.readUInt32BE(0); h = d.readUInt32BE(4); type = d[9];
      if (d[8] !== 8 || (type !== 2 && type !== 6) || d[12] !== 0) throw new Error('PNG: unsupported format');
    } else if (t === 'IDAT') idat.push(d);
    pos += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const bpp = type === 6 ? 4 : 3, stride = w * bpp;
  const px = Buffer.alloc(h * stride), rgb = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)], src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[y * stride + x - bpp] : 0, up = y ? px[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y ? px[(y - 1) * stride + x - bpp] : 0;
      let v = src[x];
      if (f === 1) v += a; else if (f === 2) v += up; else if (f === 3) v += (a + up) >> 1;
      else if (f === 4) { const p = a + up - c, pa = Math.abs(p - a), pb = Math.abs(p - up), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? up : c; }
      px[y * stride + x] = v & 255;
    }
    for (let x = 0; x < w; x++) px.copy(rgb, (y * w + x) * 3, y * stride + x * bpp, y * stride + x * bpp + 3);
  }
  return { w, h, rgb };
}

function readPPM(path) {
  const b = fs.readFileSync(path);
  if (b[0] === 0x89 && b.toString('ascii', 1, 4) === 'PNG') return readPNG(b);
  // P6\n W H\n 255\n then RGB; comments are not written by QEMU
  let pos = 0;
  const tok = () => {
    while (/\s/.test(String.fromCharCode(b[pos]))) pos++;
    let s = '';
    while (!/\s/.test(String.fromCharCode(b[pos]))) s += String.fromCharCode(b[pos++]);
    return s;
  };
  if (tok() !== 'P6') throw new Error(path + ': not a P6 PPM');
  const w = +tok(), h = +tok(), max = +tok();
  pos++;
  if (max !== 255) throw new Error(path + ': max ' + max);
  return { w, h, rgb: b.subarray(pos, pos + w * h * 3) };
}

async function canvasPixels(page) {
  return page.evaluate(() => {
    const c = document.querySelector('#screen canvas') || document.querySelector('canvas');
    if (!c) return null;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = '';
    for (let i = 0; i < d.length; i += 0x8000)
      s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
    return { w: c.width, h: c.height, b64: btoa(s) };
  });
}

async function main() {
  const steps = JSON.parse(process.argv[2]);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
  try {
    for (const s of steps) {
      try {
      if (s.goto) {
        const r = await page.goto(s.goto, { waitUntil: 'load' });
        out({ goto: r ? r.status() : null });
      } else if (s.wait) {
        const ms = s.ms || 20000;
        try {
          // The page's script first (a loaded machine is slow to run
          // it), then the state within ms.
          await page.waitForFunction(() => window.trellis, null, { timeout: 60000 });
          await page.waitForFunction((st) => window.trellis && window.trellis.state === st, s.wait, { timeout: ms });
        } catch (e) { /* reported below */ }
        out({ state: await page.evaluate(() => window.trellis && window.trellis.state),
              message: await page.evaluate(() => window.trellis && window.trellis.message),
              closes: await page.evaluate(() => window.trellis && window.trellis.closes),
              url: page.url() });
      } else if (s.waitUrl) {
        try {
          await page.waitForURL(new RegExp(s.waitUrl), { timeout: s.ms || 20000 });
        } catch (e) { /* reported below */ }
        out({ url: page.url() });
      } else if (s.compare) {
        const ref = readPPM(s.compare);
        const c = await canvasPixels(page);
        if (!c) { out({ compare: 'no canvas' }); continue; }
        const px = Buffer.from(c.b64, 'base64');
        let diff = 0, lit = 0;
        if (c.w === ref.w && c.h === ref.h) {
          for (let i = 0, j = 0; i < c.w * c.h; i++, j += 3) {
            const r = px[i * 4], g = px[i * 4 + 1], b = px[i * 4 + 2];
            if (Math.max(Math.abs(r - ref.rgb[j]), Math.abs(g - ref.rgb[j + 1]), Math.abs(b - ref.rgb[j + 2])) > 24) diff++;
            if (r + g + b > 150) lit++;
          }
        }
        out({ compare: { canvas: [c.w, c.h], screenshot: [ref.w, ref.h], differing: diff, lit, pixels: c.w * c.h } });
      } else if (s.type !== undefined) {
        await page.evaluate(() => window.rfb && window.rfb.focus());
        await page.click('#screen canvas');
        for (const ch of s.type) {
          if (ch === '\n') await page.keyboard.press('Enter');
          else await page.keyboard.type(ch, { delay: 30 });
        }
        out({ typed: s.type.length });
      } else if (s.sleep) {
        await page.waitForTimeout(s.sleep);
        out({ slept: s.sleep });
      } else if (s.exec) {
        let r = '';
        try { r = require('child_process').execSync(s.exec, { encoding: 'utf8' }); } catch (e) { r = 'failed: ' + e.status; }
        out({ exec: r.trim() });
      } else if (s.eval) {
        out({ value: await page.evaluate(s.eval) });
      }
      } catch (e) {
        out({ error: String(e) });
      }
    }
  } catch (e) {
    out({ error: String(e) });
  }
  out({ done: true });
  await browser.close();
}

main().catch((e) => { console.log(JSON.stringify({ error: String(e) })); process.exit(1); });
