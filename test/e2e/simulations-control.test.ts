// Control runs of the attack simulations in examples/simulations/: every
// simulation installed with PLAIN npm (no guarded-install), inside a private
// network namespace with the local C2 stub. This proves each fixture really
// performs its attack (C2 requests, payload dropped and running, persistence,
// evidence erasure, the sleeper firing after npm exits) - so a guarded run that
// shows none of it was stopped, not broken. The benign look-alikes must install
// cleanly. Every process a run started is ended afterwards (by pid).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PREBUILT_SHA256 } from '../../examples/simulations/c2-stub.mjs';
import {
  C2_IP,
  C2_TCP_PORT,
  DECOYS,
  SIM_ROOT,
  getSimulation,
  listSimulations,
  missingTools,
  removeRun,
  runSimulation,
  taggedProcesses,
  type C2Record,
  type SimulationResult,
  type TaggedProcess,
} from '../../examples/simulations/run.mjs';
import { canUnshare } from './helpers/simulation-checks.js';

const NETNS = canUnshare();
const KEEP = Boolean(process.env.E2E_KEEP);

const runs: SimulationResult[] = [];
afterEach(() => {
  // whatever an assertion said: no process of a run may be left, and temp dirs go
  for (const r of runs.splice(0)) {
    expect(taggedProcesses(r.tag), `processes of ${r.name} still alive`).toEqual([]);
    if (!KEEP) removeRun(r);
  }
});

async function plain(name: string): Promise<SimulationResult> {
  const r = await runSimulation({ name, mode: 'plain', timeoutMs: 120_000 });
  runs.push(r);
  // the runner ended everything it found; nothing is left over
  expect(r.remaining).toEqual([]);
  expect(r.timedOut).toBe(false);
  return r;
}

const requests = (r: SimulationResult): C2Record[] => r.c2.filter((e) => e.kind === 'request');
const firstContact = (r: SimulationResult): number => Math.min(...r.c2.filter((e) => e.kind === 'connection').map((e) => e.ts));
const isExecutable = (path: string): boolean => (statSync(path).mode & 0o111) !== 0;
const tmpFile = (r: SimulationResult, name: string): string => join(r.dirs.tmp, name);

// A detached "second stage": it wrote its pid to $TMPDIR/.sim-stage2.pids, was
// still running when npm exited, and the runner ended it afterwards.
function expectStage2Outlived(r: SimulationResult): TaggedProcess {
  expect(r.stage2Pids.length).toBeGreaterThanOrEqual(1);
  const survivor = r.survivorsAtInstallExit.find((p) => r.stage2Pids.includes(p.pid));
  expect(survivor, `no stage-2 survivor in ${JSON.stringify(r.survivorsAtInstallExit)}; stage 2 at install exit: ${JSON.stringify(r.stage2AtInstallExit)}`).toBeDefined();
  expect(survivor?.args).toEqual(['sleep', '30']);
  expect(r.killed.map((k) => k.pid)).toContain(survivor?.pid);
  return survivor as TaggedProcess;
}

function expectSuccessfulInstall(r: SimulationResult): void {
  expect(r.exitCode, r.installStderrTail).toBe(0);
  expect(r.times.installExited).not.toBeNull();
}

function skipIfMissing(name: string): boolean {
  return !NETNS || missingTools(getSimulation(name)).length > 0;
}

describe('simulation fixtures', () => {
  it('every catalogued simulation is a package folder named like its catalog entry', () => {
    for (const sim of listSimulations()) {
      const pkg = JSON.parse(readFileSync(join(SIM_ROOT, sim.name, 'package.json'), 'utf8')) as { name: string; version: string; scripts: Record<string, string> };
      expect(pkg.name).toBe(sim.package);
      expect(pkg.version).toBe('1.0.0');
      expect(Object.keys(pkg.scripts).sort()).toEqual([...sim.lifecycle].sort());
    }
  });

  it('sim-guard.js exists once, in _shared/ (the runner stages it into each package)', () => {
    expect(existsSync(join(SIM_ROOT, '_shared', 'sim-guard.js'))).toBe(true);
    const copies = listSimulations().map((s) => join(SIM_ROOT, s.name, 'sim-guard.js')).filter((p) => existsSync(p));
    expect(copies).toEqual([]);
  });

  // Outside a simulation namespace the fixtures must do nothing. Checked in a
  // namespace WITHOUT 203.0.113.45, so even a broken guard could not reach out.
  it.skipIf(!NETNS)('the safety guards refuse to act outside a simulation namespace', () => {
    const root = mkdtempSync(join(tmpdir(), 'gi-sim-guard-'));
    try {
      const tmp = join(root, 'tmp');
      mkdirSync(tmp);
      for (const [sim, cmd] of [
        ['axios-plain-crypto', 'node setup.js'],
        ['ua-parser-js', 'sh preinstall.sh'],
        ['curl-pipe-sh', ". ./sim-guard.sh && echo GUARD-PASSED"],
      ] as const) {
        const pkgDir = join(root, 'node_modules', sim);
        cpSync(join(SIM_ROOT, sim), pkgDir, { recursive: true });
        cpSync(join(SIM_ROOT, '_shared', 'sim-guard.js'), join(pkgDir, 'sim-guard.js')); // as the runner stages it
        const shipped = readdirSync(pkgDir).sort();
        const out = spawnSync('unshare', ['-rn', 'sh', '-c', `ip link set lo up; cd "$1" && ${cmd}`, 'sh', pkgDir], {
          env: { PATH: process.env.PATH, HOME: root, TMPDIR: tmp },
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect(out.status, `${sim}: ${out.stderr}`).toBe(0);
        expect(out.stderr).toContain('doing nothing');
        expect(out.stdout).not.toContain('GUARD-PASSED');
        expect(readdirSync(pkgDir).sort()).toEqual(shipped);
      }
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!NETNS)('attack simulations under plain npm (control)', () => {
  it('axios-plain-crypto: C2 download, drop in $TMPDIR, detached stage 2, beacon, then self-erasure', async () => {
    const r = await plain('axios-plain-crypto');
    expectSuccessfulInstall(r);
    expect(requests(r).map((q) => `${q.method} ${q.path}`)).toEqual(['GET /stage2', 'POST /exfil']);
    expect(requests(r)[0]?.host).toBe('c2.plain-crypto-js.invalid');

    const drop = tmpFile(r, '.update-service');
    expect(existsSync(drop)).toBe(true);
    expect(isExecutable(drop)).toBe(true);
    expect(readFileSync(drop, 'utf8')).toContain('exec sleep 30');
    const stage2 = expectStage2Outlived(r);
    expect(stage2.sid).toBe(stage2.pid); // setsid: its own session, detached from npm
    expect(JSON.parse(requests(r)[1]?.body ?? '{}')).toMatchObject({ pid: stage2.pid });

    // erasure completed: installer gone, package.json swapped for the clean decoy
    const files = r.listings.package?.map((e) => e.path) ?? [];
    expect(files).not.toContain('setup.js');
    expect(files).not.toContain('package.md');
    const shipped = readFileSync(join(SIM_ROOT, 'axios-plain-crypto', 'package.md'), 'utf8');
    expect(r.packageJsonFinal).toBe(shipped);
    expect(JSON.parse(r.packageJsonFinal ?? '{}')).not.toHaveProperty('scripts');
    // ... at least 1 s after the first C2 contact, and before npm returned
    const erasedAt = statSync(join(r.pkgDir, 'package.json')).ctimeMs;
    expect(erasedAt - firstContact(r)).toBeGreaterThanOrEqual(1000);
    expect(erasedAt).toBeLessThan(r.times.installExited as number);
  });

  it('shai-hulud: harvests decoy credentials, runs a downloaded scanner via sh, plants a workflow, posts to the webhook, runs npm whoami', async () => {
    const r = await plain('shai-hulud');
    expectSuccessfulInstall(r);
    expect(requests(r).map((q) => `${q.method} ${q.path}?${q.query} ${q.host}`)).toEqual(['GET /stage2?s=1 github.com', 'POST /webhook? webhook.site']);

    const harvest = requests(r)[1]?.body ?? '';
    for (const secret of [DECOYS.npmToken, DECOYS.awsAccessKeyId, DECOYS.awsSecretAccessKey, DECOYS.githubToken]) expect(harvest).toContain(secret);
    expect(JSON.parse(harvest)).toMatchObject({ scan: { exit: 0 } });

    const scanner = tmpFile(r, 'trufflehog');
    expect(isExecutable(scanner)).toBe(true);
    expect(r.stage2Pids).toHaveLength(1); // the scanner ran ...
    expect(r.survivorsAtInstallExit).toEqual([]); // ... and finished within the install

    const workflow = join(r.dirs.project, '.github', 'workflows', 'shai-hulud.yml');
    expect(readFileSync(workflow, 'utf8')).toContain('name: shai-hulud');

    const logs = join(r.dirs.cache, '_logs');
    const whoami = readdirSync(logs).some((f) => readFileSync(join(logs, f), 'utf8').includes('verbose argv "whoami"'));
    expect(whoami).toBe(true);
  });

  it('shai-hulud-2: preinstall fetches a "bun" into ~/.bun/bin and runs it detached', async () => {
    const r = await plain('shai-hulud-2');
    expectSuccessfulInstall(r);
    expect(requests(r).map((q) => `${q.method} ${q.path} ${q.host}`)).toEqual(['GET /bun bun.sh']);
    const bun = join(r.dirs.home, '.bun', 'bin', 'bun');
    expect(isExecutable(bun)).toBe(true);
    const stage2 = expectStage2Outlived(r);
    expect(stage2.sid).toBe(stage2.pid);
  });

  it('nx-s1ngularity: probes for AI CLIs with a shell, inventories credentials, poisons ~/.bashrc and ~/.zshrc, exfiltrates', async () => {
    const r = await plain('nx-s1ngularity');
    expectSuccessfulInstall(r);
    const inventory = readFileSync(tmpFile(r, 'inventory.txt'), 'utf8').split('\n').filter(Boolean);
    expect(inventory).toEqual([
      join(r.dirs.home, '.npmrc'),
      join(r.dirs.home, '.ssh', 'id_rsa'),
      join(r.dirs.home, '.aws', 'credentials'),
      join(r.dirs.home, '.config', 'gh', 'hosts.yml'),
      join(r.dirs.project, '.env'),
    ]);
    for (const rc of ['.bashrc', '.zshrc']) {
      const text = readFileSync(join(r.dirs.home, rc), 'utf8');
      expect(text.startsWith('# decoy')).toBe(true);
      expect(text.trimEnd().endsWith('sudo shutdown -h 0')).toBe(true);
    }
    const [post] = requests(r);
    expect(`${post?.method} ${post?.path} ${post?.host}`).toBe('POST /exfil api.github.com');
    let blob = (JSON.parse(post?.body ?? '{}') as Record<string, string>)['results.b64'] ?? '';
    for (let i = 0; i < 3; i++) blob = Buffer.from(blob, 'base64').toString('utf8');
    const decoded = JSON.parse(blob) as { clis: string; found: Array<{ file: string }> };
    expect(decoded.clis).toMatch(/claude/); // the shell's probe output
    expect(decoded.found.map((f) => f.file)).toEqual(inventory);
  });

  it('ua-parser-js: preinstall sh geo-checks, downloads the "miner" with curl/wget, runs it with nohup', async () => {
    const r = await plain('ua-parser-js');
    expectSuccessfulInstall(r);
    expect(requests(r).map((q) => `${q.method} ${q.path} ${q.host}`)).toEqual(['GET /geo freegeoip.app', 'GET /stage2 ua-parser-js-c2.invalid']);
    const ua = requests(r)[1]?.userAgent ?? '';
    if (missingTools({ ...getSimulation('ua-parser-js'), needs: ['curl'] }).length === 0) expect(ua).toMatch(/^curl\//);
    const miner = tmpFile(r, 'jsextension');
    expect(isExecutable(miner)).toBe(true);
    expectStage2Outlived(r);
  });

  it.skipIf(skipIfMissing('reverse-shell'))('reverse-shell: bash /dev/tcp session with the C2 operator', async () => {
    const r = await plain('reverse-shell');
    expectSuccessfulInstall(r);
    const conns = r.c2.filter((e) => e.kind === 'connection');
    expect(conns).toHaveLength(1);
    expect(conns[0]).toMatchObject({ server: 'tcp', localPort: C2_TCP_PORT });
    expect(conns[0]?.remote?.startsWith(`${C2_IP}:`)).toBe(true);
    const received = r.c2.filter((e) => e.kind === 'tcp-recv').map((e) => e.data ?? '').join('');
    expect(received).toMatch(/^hello from pid \d+\n/);
    expect(received).toContain('sim-reverse-shell-ok\n');
    expect(received).toContain('id-stand-in\n');
    expect(r.c2.some((e) => e.kind === 'tcp-close')).toBe(true);
    expect(r.survivorsAtInstallExit).toEqual([]);
  });

  it.skipIf(skipIfMissing('curl-pipe-sh'))('curl-pipe-sh: install script pipes the C2 download into sh', async () => {
    const r = await plain('curl-pipe-sh');
    expectSuccessfulInstall(r);
    const [get] = requests(r);
    expect(`${get?.method} ${get?.path}?${get?.query}`).toBe('GET /stage2?s=2');
    expect(get?.userAgent).toMatch(/^curl\//);
    expect(r.stage2Pids).toHaveLength(1); // the piped script ran ...
    // ... inside the install (it sleeps 2 s, npm waited for it)
    expect((r.times.installExited as number) - (get?.ts as number)).toBeGreaterThanOrEqual(1900);
    expect(r.survivorsAtInstallExit).toEqual([]);
  });

  it('sleeper: a detached process waits for npm to exit, then phones home and drops a marker', async () => {
    const r = await plain('sleeper');
    expectSuccessfulInstall(r);
    const installExited = r.times.installExited as number;
    const waiting = r.survivorsAtInstallExit.find((p) => p.args.some((a) => a.endsWith('sleeper.js')) && p.args.includes('--wait'));
    expect(waiting, JSON.stringify(r.survivorsAtInstallExit)).toBeDefined();
    expect(waiting?.sid).toBe(waiting?.pid);

    // nothing reached the C2 while npm ran
    expect(r.c2.every((e) => e.ts > installExited)).toBe(true);
    const [post] = requests(r);
    expect(`${post?.method} ${post?.path} ${post?.host}`).toBe('POST /exfil sleeper-c2.invalid');
    const marker = JSON.parse(readFileSync(tmpFile(r, '.sim-sleeper-fired'), 'utf8')) as { firedAt: number; c2Status: number };
    expect(marker.c2Status).toBe(200);
    expect(marker.firedAt).toBeGreaterThan(installExited);
    expect(marker.firedAt - installExited).toBeLessThan(4000);
  });
});

describe.skipIf(!NETNS)('benign look-alikes under plain npm (control)', () => {
  it('benign-prebuilt-downloader: downloads and verifies a prebuilt into its own vendor/', async () => {
    const r = await plain('benign-prebuilt-downloader');
    expectSuccessfulInstall(r);
    expect(requests(r).map((q) => `${q.method} ${q.path} ${q.status}`)).toEqual(['GET /prebuilt/tool.tar 200']);
    const tool = readFileSync(join(r.pkgDir, 'vendor', 'tool.tar'));
    expect(createHash('sha256').update(tool).digest('hex')).toBe(PREBUILT_SHA256);
    // its shipped files are all still there, untouched
    const shipped = readdirSync(join(SIM_ROOT, 'benign-prebuilt-downloader')).concat('sim-guard.js').sort();
    expect(readdirSync(r.pkgDir).filter((f) => f !== 'vendor').sort()).toEqual(shipped);
    expect(readFileSync(join(r.pkgDir, 'package.json'), 'utf8')).toBe(readFileSync(join(SIM_ROOT, 'benign-prebuilt-downloader', 'package.json'), 'utf8'));
    expect(r.listings.tmp).toEqual([]);
    expect(r.survivorsAtInstallExit).toEqual([]);
  });

  it.skipIf(skipIfMissing('benign-native-build'))('benign-native-build: python3 configure + make + cc into build/, own temp files cleaned, no network', async () => {
    const r = await plain('benign-native-build');
    expectSuccessfulInstall(r);
    expect(r.c2).toEqual([]);
    const build = readdirSync(join(r.pkgDir, 'build')).sort();
    expect(build).toEqual(['config.gypi', 'hello']);
    expect(JSON.parse(readFileSync(join(r.pkgDir, 'build', 'config.gypi'), 'utf8'))).toHaveProperty('variables.host_arch');
    expect(execFileSync(join(r.pkgDir, 'build', 'hello'), { encoding: 'utf8' })).toBe('hello from sim-benign-native-build\n');
    expect(r.survivorsAtInstallExit).toEqual([]);
  });
});
