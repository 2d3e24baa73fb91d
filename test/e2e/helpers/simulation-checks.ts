// What a guarded simulation run left behind, and the checks that its late step
// (what comes after the point where guarded-install blocks it) never happened.
// Shared by simulations-guarded.test.ts (strace) and tracer-matrix.test.ts.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { SIM_ROOT, type C2Record, type SimulationInfo, type SimulationResult } from '../../../examples/simulations/run.mjs';
import type { PackageReport, Report } from '../../../src/report/report.js';

// ── event log ────────────────────────────────────────────────────────────────
// The simulations need a private network namespace with the C2 address on lo.
export function canUnshare(): boolean {
  try {
    execFileSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up && ip addr add 203.0.113.45/32 dev lo'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// strace runs and may trace its child here
export const canStrace = (): boolean => spawnSync('strace', ['-f', '-o', '/dev/null', '--', 'true'], { stdio: 'ignore' }).status === 0;

export interface Ev {
  '@timestamp': string;
  event: { action: string; type: string[]; sequence: number };
  package: { name: string; version: string; path: string };
  npm: { lifecycle_event: string; script_id: string };
  process: { pid: number; executable?: string; name?: string; args?: string[]; exit_code?: number; signal?: string };
  file?: { path: string };
  syscall?: { name: string; source_path?: string };
  destination?: { ip?: string; port?: number };
  outcome_action?: string;
}
export const readEvents = (path: string): Ev[] => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Ev);
export const brief = (e: Ev): string => `${e.event.sequence} ${e.event.action} pid=${e.process.pid} ${JSON.stringify(e.process.args ?? [])} ${e.file?.path ?? ''}${e.syscall?.source_path ? ` <- ${e.syscall.source_path}` : ''}`;

export interface Live {
  sim: SimulationInfo;
  r: SimulationResult;
  report: Report;
  events: Ev[];
  eventsPath: string;
}

// ── helpers over a run ──────────────────────────────────────────────────────
export const pkgId = (sim: SimulationInfo): string => `${sim.package}@1.0.0`;
export const requests = (r: SimulationResult): C2Record[] => r.c2.filter((e) => e.kind === 'request');
export const requestLines = (r: SimulationResult): string[] => requests(r).map((q) => `${q.method} ${q.path}`);
export const ofPackage = (l: Live): Ev[] => l.events.filter((e) => e.package.name === l.sim.package);
export const procStarts = (l: Live): Ev[] => ofPackage(l).filter((e) => e.event.action === 'process-start');
export const writesTo = (l: Live, path: string): Ev[] => l.events.filter((e) => (e.event.action === 'file-write' || e.event.action === 'file-link' || e.event.action === 'file-rename') && e.file?.path === path);

export function packageOf(report: { packages: PackageReport[] }, id: string): PackageReport {
  const p = report.packages.find((x) => `${x.name}@${x.version}` === id);
  if (!p) throw new Error(`${id} is not in the report (packages: ${report.packages.map((x) => `${x.name}@${x.version}`).join(', ')})`);
  return p;
}

// The files a lifecycle command names that the package ships (node setup.js ->
// setup.js; `. ./sim-guard.sh && ...` -> sim-guard.sh).
export function scriptFiles(sim: SimulationInfo): string[] {
  const pkg = JSON.parse(readFileSync(join(SIM_ROOT, sim.name, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const files = new Set<string>();
  for (const hook of sim.lifecycle) {
    for (const token of (pkg.scripts[hook] ?? '').match(/[\w./@-]+/g) ?? []) {
      const rel = token.replace(/^\.\//, '');
      if (rel === '' || rel.startsWith('/') || rel.includes('..') || rel === 'package.json') continue;
      const path = join(SIM_ROOT, sim.name, rel);
      if (existsSync(path) && statSync(path).isFile()) files.add(rel);
    }
  }
  return [...files];
}

export const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

// ── the late step of each attack: what comes after the crossing ─────────────
// Each check proves the step the simulation's README lists after the point
// where guarded-install crosses the threshold never reached the C2 or the disk.
export const LATE_STEPS: Record<string, { what: string; check: (l: Live) => void }> = {
  'axios-plain-crypto': {
    what: 'no beacon (POST /exfil), no erasure (setup.js deleted, package.md renamed over package.json)',
    check: (l) => {
      const { r } = l;
      expect(requestLines(r)).not.toContain('POST /exfil');
      // by the package: npm removing the blocked package afterwards is not its
      // erasure (the proc tracer's file watcher sees that, unattributed)
      const erasure = ofPackage(l).filter((e) =>
        (e.event.action === 'file-delete' && e.file?.path === join(r.pkgDir, 'setup.js')) ||
        (e.event.action === 'file-rename' && (e.file?.path === join(r.pkgDir, 'package.json') || e.syscall?.source_path === join(r.pkgDir, 'package.md'))));
      expect(erasure.map(brief)).toEqual([]);
      // npm rolled the failed package back, or it is still the shipped one
      if (r.packageJsonFinal !== null) expect(r.packageJsonFinal).toBe(readFileSync(join(SIM_ROOT, 'axios-plain-crypto', 'package.json'), 'utf8'));
    },
  },
  'shai-hulud': {
    what: 'no workflow file, no POST /webhook with the harvest, no `npm whoami`',
    check: (l) => {
      const { r } = l;
      const workflow = join(r.dirs.project, '.github', 'workflows', 'shai-hulud.yml');
      expect(existsSync(workflow)).toBe(false);
      expect(writesTo(l, workflow).map(brief)).toEqual([]);
      expect(requestLines(r)).not.toContain('POST /webhook');
      expect(procStarts(l).filter((e) => (e.process.args ?? []).includes('whoami')).map(brief)).toEqual([]);
      const logs = join(r.dirs.cache, '_logs');
      const whoami = existsSync(logs) && readdirSync(logs).some((f) => readFileSync(join(logs, f), 'utf8').includes('verbose argv "whoami"'));
      expect(whoami, 'npm whoami ran').toBe(false);
    },
  },
  'shai-hulud-2': {
    what: 'the detached "bun" payload does not keep running past the install',
    check: (l) => {
      const bun = join(l.r.dirs.home, '.bun', 'bin', 'bun');
      expect(l.r.survivorsAtInstallExit.filter((p) => p.args.some((a) => a === bun || a.endsWith('bun_environment.js')))).toEqual([]);
      expect(l.r.survivorsAtInstallExit.filter((p) => p.args[0] === 'sleep')).toEqual([]);
    },
  },
  'nx-s1ngularity': {
    what: '~/.bashrc and ~/.zshrc unchanged, no POST /exfil of the inventory',
    check: (l) => {
      const { r } = l;
      for (const rc of ['.bashrc', '.zshrc']) {
        const path = join(r.dirs.home, rc);
        expect(readFileSync(path, 'utf8'), rc).toBe(`# decoy ~/${rc} in the simulation temp HOME\n`);
        expect(writesTo(l, path).map(brief)).toEqual([]);
      }
      expect(requestLines(r)).toEqual([]);
    },
  },
  'ua-parser-js': {
    what: 'the "miner" is never downloaded (GET /stage2), written or started',
    check: (l) => {
      const { r } = l;
      expect(requestLines(r)).not.toContain('GET /stage2');
      const miner = join(r.dirs.tmp, 'jsextension');
      expect(existsSync(miner)).toBe(false);
      expect(writesTo(l, miner).map(brief)).toEqual([]);
      expect(procStarts(l).filter((e) => e.process.executable === miner || (e.process.args ?? []).includes(miner)).map(brief)).toEqual([]);
    },
  },
  'reverse-shell': {
    what: "the operator's commands are never answered (no session)",
    check: (l) => {
      const received = l.r.c2.filter((e) => e.kind === 'tcp-recv').map((e) => e.data ?? '').join('');
      expect(received).not.toContain('sim-reverse-shell-ok');
      expect(received).not.toContain('id-stand-in');
    },
  },
  'curl-pipe-sh': {
    what: 'the piped second stage never runs to completion (its 2 s sleep)',
    check: (l) => {
      const { r, report } = l;
      const get = requests(r).find((q) => q.path === '/stage2');
      const dead = report.response.find((x) => x.package === pkgId(l.sim))?.treeDeadAt;
      expect(dead).toBeTruthy();
      if (get) expect(Date.parse(dead as string) - get.ts).toBeLessThan(1900);
      const finished = ofPackage(l).filter((e) => e.event.action === 'process-end' && e.process.name === 'sleep' && e.process.exit_code === 0);
      expect(finished.map(brief)).toEqual([]);
    },
  },
  sleeper: {
    what: 'the sleeper never phones home after npm exits, never writes its marker, and is killed',
    check: (l) => {
      const { r, report } = l;
      expect(r.c2).toEqual([]); // not even a connection, across the 5 s linger
      expect(existsSync(join(r.dirs.tmp, '.sim-sleeper-fired'))).toBe(false);
      const sleeper = report.outlived.filter((o) => o.args.some((a) => a.endsWith('sleeper.js')) && o.args.includes('--wait'));
      // killed as a leftover when npm ended, or earlier, when its package was blocked
      const blockedAndKilled = report.response.some((x) => x.package === pkgId(l.sim) && x.pids.length > 0);
      expect(sleeper.length > 0 || blockedAndKilled, JSON.stringify({ outlived: report.outlived, response: report.response })).toBe(true);
      for (const o of sleeper) expect(o.killed).toBe(true);
    },
  },
};

