// guarded-install doctor's canary: a harmless stand-in for an install-time
// attack. It runs only when the doctor installs it (GI_DOCTOR_CANARY_PORT set,
// running from a node_modules folder); anywhere else it exits at once.
//
//   1. connects to the doctor's own listener on 127.0.0.1 (loopback only)
//   2. runs `sh -c 'exit 0'` from node                 -> process signal
//   3. deletes this file, its own install script        -> churn (evidence erasure)
//   4. 2 s later writes a marker file: if the marker exists, nobody stopped it
'use strict';
const { spawnSync } = require('node:child_process');
const { connect } = require('node:net');
const { unlinkSync, writeFileSync } = require('node:fs');
const { sep } = require('node:path');

const port = Number(process.env.GI_DOCTOR_CANARY_PORT);
const marker = process.env.GI_DOCTOR_CANARY_MARKER;
if (!Number.isInteger(port) || port <= 0 || !marker || !__dirname.includes(`${sep}node_modules${sep}`)) process.exit(0);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function phone() {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end('canary\n'));
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('close', resolve);
    socket.on('error', resolve);
  });
}

(async () => {
  await phone();
  await sleep(200);
  spawnSync('sh', ['-c', 'exit 0'], { stdio: 'ignore' });
  await sleep(200);
  unlinkSync(__filename);
  await sleep(2000);
  writeFileSync(marker, `canary ran to the end at ${new Date().toISOString()}\n`);
})();
