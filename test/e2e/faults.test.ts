// Faults (issue 6): guarded-install interrupted by SIGINT / SIGTERM / SIGHUP at
// every stage of a run (before npm starts, while npm extracts, while a script
// runs, while a blocked package is being killed) and npm SIGKILLed mid-install.
// Each time npm and every script must end, the exit code must be the
// documented one (128+n: guarded-install dies by the signal it got, or npm
// died by), the report must say what happened, and no process may be left.
// (Clock jumps: test/scoring/clock-jump.test.ts, on recorded timestamps.)
//
// Every run is a real install by the built CLI (`npm run build` first) inside a
// private network namespace with the C2 stub on 203.0.113.45; HOME and TMPDIR
// are temp dirs; the test signals only pids it started or found as children
// of them in /proc.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/report.js';
import { leftoversUnder } from './helpers/leftovers.js';
import { FIXTURES, freshRunDirs, guardedInstallCommand, makeProject, makeTempRoot, readEvents, removeTempRoot, REPO_ROOT, runEnv, startInNetns, type NetnsSession, type TempProject } from './helpers/netns.js';
import { descendants, isAlive, listProcs, waitFor } from './helpers/proc.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type Sig = (typeof SIGNALS)[number];
const NUMBER: Record<Sig | 'SIGKILL', number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
const roots: string[] = [];

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
});
afterAll(() => {
  for (const root of roots) removeTempRoot(root);
});

function project(label: string, fixtures: string[]): TempProject {
  const p = makeProject(label, fixtures);
  roots.push(p.root);
  return p;
}

// A package with 800 files, so that npm spends a while extracting it (made
// once, packed by each project).
let big: string | undefined;
function bigPackage(): string {
  if (big) return big;
  const root = makeTempRoot('faults-big');
  roots.push(root);
  const dir = join(root, 'big-dep');
  mkdirSync(join(dir, 'files'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'faults-big-dep', version: '1.0.0', license: 'MIT', scripts: { postinstall: 'sleep 30' } }, null, 2)}\n`);
  for (let i = 0; i < 800; i++) writeFileSync(join(dir, 'files', `f${i}.js`), `module.exports = ${i};\n`.repeat(20));
  big = relative(FIXTURES, dir);
  return big;
}

interface Started {
  p: TempProject;
  session: NetnsSession;
  gi: number; // guarded-install's pid (the namespace script execs it)
  reportPath: string;
  eventsPath: string;
  stderr: () => string;
}

function start(p: TempProject, label: string, env: NodeJS.ProcessEnv = {}): Started {
  const dirs = freshRunDirs(p.root, label);
  const reportPath = join(dirs.base, 'report.json');
  const eventsPath = join(dirs.base, 'events.ndjson');
  const session = startInNetns(`exec ${guardedInstallCommand({ project: p, events: eventsPath, report: reportPath })}`, { workDir: join(p.root, `netns-${label}`), env: runEnv(dirs, env), timeoutMs: 120_000 });
  let err = '';
  session.child.stderr?.on('data', (s: string) => (err += s));
  return { p, session, gi: session.pid, reportPath, eventsPath, stderr: () => err };
}

// npm: guarded-install's child running npm-cli (found in /proc, by parent pid)
function npmOf(gi: number): number | undefined {
  // npm sets its process title: its cmdline reads "npm install ..."
  return listProcs().find((x) => x.ppid === gi && /(^|\/)npm(-cli\.js)?( |$)/.test(x.args.join(' ')))?.pid;
}

interface Ended {
  exit: string; // 'SIGINT' when it died by a signal, else 'code N'
  report: Report | undefined;
  left: string[];
  npmAlive: boolean;
}

async function finish(s: Started, npm?: number): Promise<Ended> {
  const result = await s.session.done;
  const left = await leftoversUnder(s.p.root);
  const report = existsSync(s.reportPath) ? (JSON.parse(readFileSync(s.reportPath, 'utf8')) as Report) : undefined;
  return { exit: result.signal ?? `code ${result.exitCode}`, report, left, npmAlive: npm !== undefined && isAlive(npm) };
}

const signalsIn = (r: Report | undefined): string[] => (r?.timeline ?? []).filter((t) => t.type === 'signal').map((t) => t.detail ?? '');

const SLOW_LOAD = join(REPO_ROOT, 'test', 'fixtures', 'faults', 'slow-load', 'register.mjs');

describe('signals to guarded-install at every stage (private network namespace)', () => {
  it.each(SIGNALS)('%s while guarded-install\'s own modules load: held, npm is ended as it starts, the report has the signal', async (sig) => {
    const p = project(`loading-${sig}`, ['sleeper-dep']);
    const marker = join(p.root, `loading-${sig}`);
    // a module hook holds dist/cli.js's load for 1.5 s, after the launcher started
    const s = start(p, 'run', { NODE_OPTIONS: `--import=${SLOW_LOAD}`, SLOW_LOAD_MARKER: marker });
    await waitFor('dist/cli.js loading', () => existsSync(marker), 20_000, 10);
    process.kill(s.gi, sig);
    const end = await finish(s);
    console.log(`[e2e faults loading ${sig}] ${end.exit}, report ${end.report ? 'written' : 'none'}`);
    expect(end.exit).toBe(sig);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    expect(end.report, 'no report').toBeDefined();
    expect(signalsIn(end.report)).toEqual([sig]);
    expect(end.left).toEqual([]);
  });

  it.each(SIGNALS)('%s before npm starts: npm is ended as it starts, the report has the signal, nothing is left', async (sig) => {
    const p = project(`before-${sig}`, ['sleeper-dep']);
    // a slow tracer probe holds guarded-install before it spawns npm
    const slow = join(p.root, 'slow-strace');
    writeFileSync(slow, `#!/bin/sh\nsleep 1\nexec strace "$@"\n`);
    chmodSync(slow, 0o755);
    const s = start(p, 'run', { GUARDED_INSTALL_STRACE: slow });
    // (only the probe: the namespace script's own `sleep` while the C2 stub
    // starts comes before guarded-install exists)
    await waitFor('the tracer probe', () => descendants(s.gi).some((x) => x.args.includes(slow)), 20_000, 10);
    expect(npmOf(s.gi)).toBeUndefined();
    process.kill(s.gi, sig);
    const end = await finish(s);
    console.log(`[e2e faults before-npm ${sig}] ${end.exit}, report ${end.report ? 'written' : 'none'}`);
    expect(end.exit).toBe(sig);
    expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
    // the signal was held until npm started, which it then ended: the report says so
    expect(end.report, 'no report').toBeDefined();
    expect(signalsIn(end.report)).toEqual([sig]);
    expect(end.left).toEqual([]);
  });

  it.each(SIGNALS)('%s while npm extracts (no script started yet): npm ends, the report has the signal, exit 128+n', async (sig) => {
    const t0 = Date.now();
    const p = project(`extract-${sig}`, [bigPackage()]);
    const t1 = Date.now();
    const s = start(p, 'run');
    const extracted = join(p.dir, 'node_modules', 'faults-big-dep');
    await waitFor('extraction to begin', () => existsSync(extracted), 60_000, 5);
    const npm = npmOf(s.gi);
    const t2 = Date.now();
    process.kill(s.gi, sig);
    const end = await finish(s, npm);
    console.log(`[e2e faults extract ${sig}] ${end.exit}, npm ${end.report?.npm.exitCode ?? end.report?.npm.signal}, scripts ${end.report?.packages.flatMap((x) => x.scripts).length}; pack ${t1 - t0} ms, to extraction ${t2 - t1} ms, signal to end ${Date.now() - t2} ms`);
    expect(end.exit).toBe(sig);
    expect(end.report?.exitCode).toBe(128 + NUMBER[sig]);
    expect(signalsIn(end.report)).toEqual([sig]);
    const timeline = end.report?.timeline ?? [];
    const at = (type: string): number => timeline.findIndex((t) => t.type === type);
    // the signal came before any lifecycle script
    expect(at('script-start') === -1 || at('script-start') > at('signal')).toBe(true);
    expect(npm).toBeDefined();
    expect(end.npmAlive).toBe(false);
    expect(end.left).toEqual([]);
  });

  it.each(SIGNALS)('%s while a script runs: npm, the script and its background child end; exit 128+n; the report has the signal', async (sig) => {
    const p = project(`script-${sig}`, ['sleeper-dep']);
    const s = start(p, 'run');
    const sleeps = await waitFor('the two `sleep 30` of the postinstall', () => {
      const found = descendants(s.gi).filter((x) => x.args.join(' ') === 'sleep 30');
      return found.length === 2 ? found : undefined;
    }, 60_000);
    const npm = npmOf(s.gi);
    process.kill(s.gi, sig);
    const end = await finish(s, npm);
    console.log(`[e2e faults script ${sig}] ${end.exit}, npm ${end.report?.npm.exitCode ?? end.report?.npm.signal}`);
    expect(end.exit).toBe(sig);
    expect(end.report?.exitCode).toBe(128 + NUMBER[sig]);
    expect(signalsIn(end.report)).toEqual([sig]);
    expect(end.npmAlive).toBe(false);
    for (const x of sleeps) expect(isAlive(x.pid), `sleep ${x.pid}`).toBe(false);
    expect(end.left).toEqual([]);
  });

  it.each(SIGNALS)('%s while a blocked package is being killed: the kill completes, exit 128+n, the report has both', async (sig) => {
    const p = project(`kill-${sig}`, ['../faults/block-linger']);
    const s = start(p, 'run');
    await waitFor('the BLOCKED line', () => s.stderr().includes('guarded-install: BLOCKED'), 60_000, 5);
    const npm = npmOf(s.gi);
    process.kill(s.gi, sig);
    const end = await finish(s, npm);
    const types = (end.report?.timeline ?? []).map((t) => t.type);
    console.log(`[e2e faults kill ${sig}] ${end.exit}, timeline ${types.join(' ')}`);
    expect(end.exit).toBe(sig);
    expect(end.report?.exitCode).toBe(128 + NUMBER[sig]);
    expect(end.report?.verdict).toBe('fail');
    expect(end.report?.killed).toBe(true);
    expect(end.report?.blockedPackages).toEqual(['faults-block-linger@1.0.0']);
    expect(types).toEqual(expect.arrayContaining(['threshold-crossed', 'kill-sent', 'signal']));
    expect(signalsIn(end.report)).toEqual([sig]);
    expect(end.npmAlive).toBe(false);
    expect(end.left).toEqual([]);
  });
});

describe('npm killed mid-install', () => {
  it('SIGKILL to npm while a script runs: the script and its child are ended, guarded-install dies by SIGKILL (137) like npm, the report says npm was killed', async () => {
    const p = project('npm-sigkill', ['sleeper-dep']);
    const s = start(p, 'run');
    const sleeps = await waitFor('the two `sleep 30` of the postinstall', () => {
      const found = descendants(s.gi).filter((x) => x.args.join(' ') === 'sleep 30');
      return found.length === 2 ? found : undefined;
    }, 60_000);
    const npm = npmOf(s.gi);
    expect(npm).toBeDefined();
    process.kill(npm as number, 'SIGKILL');
    const end = await finish(s, npm);
    console.log(`[e2e faults npm-sigkill] ${end.exit}, report exit ${end.report?.exitCode}, npm ${end.report?.npm.signal}, outlived ${JSON.stringify(end.report?.outlived)}`);
    expect(end.exit).toBe('SIGKILL');
    expect(end.report?.npm.signal).toBe('SIGKILL');
    expect(end.report?.exitCode).toBe(128 + NUMBER.SIGKILL);
    expect((end.report?.timeline ?? []).find((t) => t.type === 'npm-exit')?.detail).toBe('signal SIGKILL');
    // the script's processes outlived npm: reported and ended
    for (const x of sleeps) {
      expect(isAlive(x.pid), `sleep ${x.pid}`).toBe(false);
      expect(end.report?.outlived.find((o) => o.pid === x.pid)?.killed, `sleep ${x.pid} in outlived`).toBe(true);
    }
    expect(end.left).toEqual([]);
    // the events log is complete and parseable
    expect(readEvents(s.eventsPath).some((e) => e.event.action === 'process-outlived-install')).toBe(true);
  });
});
