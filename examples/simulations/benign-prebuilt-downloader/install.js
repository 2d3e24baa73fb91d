// guarded-install simulation of a BENIGN look-alike (must not be flagged):
// postinstall downloads a "prebuilt binary" and verifies it, like esbuild,
// sharp or puppeteer do. Steps:
//   1. GET the C2 stub address on a different path, /prebuilt/tool.tar
//      (Host: objects.githubusercontent.com)                         (t = 0)
//   2. verify its sha256 against the checksum shipped in this file
//   3. write it to vendor/tool.tar inside this package's own folder, exit 0.
// No shell, no erasure, no detached process, nothing outside its own folder.
// Connections go only to 203.0.113.45 (the local stub).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { guard, c2Request, step } = require('./sim-guard.js');

const SIM = 'benign-prebuilt-downloader';
const SHA256 = 'c245cbdc6806de760675a7c39f0a16e74c27494ade47e967b767dd03ba5bc569';
guard(__dirname, SIM);

async function main() {
  const res = await c2Request({ urlPath: '/prebuilt/tool.tar', host: 'objects.githubusercontent.com' });
  if (res.status !== 200) throw new Error(`download failed: HTTP ${res.status}`);
  const sum = crypto.createHash('sha256').update(res.body).digest('hex');
  if (sum !== SHA256) throw new Error(`checksum mismatch: ${sum}`);
  const vendor = path.join(__dirname, 'vendor');
  fs.mkdirSync(vendor, { recursive: true });
  fs.writeFileSync(path.join(vendor, 'tool.tar'), res.body);
  step(SIM, `prebuilt binary verified and installed (${res.body.length} bytes)`);
}

main().catch((error) => {
  step(SIM, `failed: ${error.message}`);
  process.exit(1); // a real downloader fails the install when it cannot get its binary
});
