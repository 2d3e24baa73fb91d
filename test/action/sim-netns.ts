// Runs an arbitrary command (a composite action step, `git commit` with a
// pre-commit hook, the demo) against one of the attack simulations of
// examples/simulations/, the way its runner (run.mjs) does: a consumer project
// depending on the packed simulation, fresh HOME / TMPDIR / npm cache, and
// the command inside `unshare -rn` with the C2 stub on 203.0.113.45 (on the
// namespace's own lo). Nothing else is reachable; no packet leaves the
// machine. Every process carries SIM_RUN_ID=<tag>; afterwards exactly those
// are ended (the runner's killTagged), never anything by name.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { C2_IP, C2_PORT, C2_STUB, C2_TCP_PORT, SIM_ROOT, getSimulation, killTagged } from '../../examples/simulations/run.mjs';

export interface SimProject {
  root: string;
  home: string;
  tmp: string;
  cache: string;
  dir: string; // the consumer project
  stub: string; // the C2 stub's log, ready file, output
  pkg: { name: string; version: string; filename: string };
}

// The caller's environment without secrets, npm/guarded-install settings or
// the test runner's own variables (as the simulations runner scrubs it).
export function scrubbedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GUARDED_INSTALL_') || k.toLowerCase().startsWith('npm_') || k === 'NODE_OPTIONS' || k === 'INIT_CWD') continue;
    if (k === 'VITEST' || k.startsWith('VITEST_') || k.startsWith('SIM_') || k.startsWith('E2E_') || k.startsWith('RUNNER_') || k === 'CI') continue;
    if (/TOKEN|SECRET|PASSWORD|^AWS_|^GH_|^GITHUB_|^INPUT_|^PRE_COMMIT/i.test(k)) continue;
    env[k] = v;
  }
  return env;
}

export function makeRoot(label: string): string {
  return realpathSync(mkdtempSync(join(tmpdir(), `gi-${label}-`)));
}

// A consumer project (in dir, default <root>/project) depending on the packed simulation.
export function prepareSimProject(name: string, root: string, dir = join(root, 'project')): SimProject {
  const sim = getSimulation(name);
  const p = { root, home: join(root, 'home'), tmp: join(root, 'tmp'), cache: join(root, 'npm-cache'), dir, stub: join(root, 'stub') };
  for (const d of [p.home, p.tmp, p.cache, p.dir, p.stub]) mkdirSync(d, { recursive: true });
  // as the runner packs it: the simulation plus the canonical sim-guard.js
  const stage = join(root, 'stage', sim.name);
  cpSync(join(SIM_ROOT, sim.name), stage, { recursive: true });
  cpSync(join(SIM_ROOT, '_shared', 'sim-guard.js'), join(stage, 'sim-guard.js'));
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', p.dir], {
    cwd: stage,
    env: { ...scrubbedEnv(), HOME: p.home, npm_config_cache: p.cache, npm_config_update_notifier: 'false' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [info] = JSON.parse(out) as Array<{ name: string; version: string; filename: string }>;
  if (!info || !existsSync(join(p.dir, info.filename))) throw new Error(`npm pack ${name}: no tarball (${out})`);
  writeFileSync(join(p.dir, 'package.json'), `${JSON.stringify({
    name: `consumer-${name}`,
    version: '1.0.0',
    private: true,
    dependencies: { [info.name]: `file:./${info.filename}` },
    allowScripts: { [info.name]: true, [`file:${join(p.dir, info.filename)}`]: true },
  }, null, 2)}\n`);
  return { ...p, pkg: { name: info.name, version: info.version, filename: info.filename } };
}

// package-lock.json for the project, without running any script.
export function writeLockfile(p: SimProject): void {
  execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], {
    cwd: p.dir,
    env: { ...scrubbedEnv(), HOME: p.home, npm_config_cache: p.cache, npm_config_update_notifier: 'false' },
    stdio: 'ignore',
  });
}

// HOME, TMPDIR and npm cache of the project; no colour, no spinner.
export function simEnv(p: SimProject, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...scrubbedEnv(), HOME: p.home, TMPDIR: p.tmp, npm_config_cache: p.cache, npm_config_update_notifier: 'false', NO_COLOR: '1', ...extra };
}

// $1.. is the command; SIM_* carry the stub's settings.
const NS_SCRIPT = `
set -u
ip link set lo up || exit 90
ip addr add ${C2_IP}/32 dev lo || exit 90
"$SIM_NODE" "$SIM_C2_STUB" --host ${C2_IP} --port ${C2_PORT} --tcp-port ${C2_TCP_PORT} --log "$SIM_STUB_DIR/c2.log" --ready "$SIM_STUB_DIR/c2.ready" </dev/null >"$SIM_STUB_DIR/c2.out" 2>&1 &
stub=$!
i=0
while [ ! -s "$SIM_STUB_DIR/c2.ready" ]; do
  if ! kill -0 "$stub" 2>/dev/null || [ "$i" -gt 400 ]; then
    echo "sim-netns: the C2 stub did not start:" >&2
    cat "$SIM_STUB_DIR/c2.out" >&2
    exit 91
  fi
  i=$((i + 1))
  sleep 0.05
done
"$@"
rc=$?
kill "$stub" 2>/dev/null
exit "$rc"
`;

export interface NsResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export async function runInSimNetns(argv: string[], o: { p: SimProject; cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number; stdin?: string }): Promise<NsResult> {
  rmSync(join(o.p.stub, 'c2.ready'), { force: true });
  const tag = `gi-ns-${Date.now()}-${randomBytes(6).toString('hex')}`;
  const env = { ...o.env, SIM_NODE: process.execPath, SIM_C2_STUB: C2_STUB, SIM_STUB_DIR: o.p.stub, SIM_RUN_ID: tag };
  const started = Date.now();
  const child = spawn('unshare', ['-rn', '/bin/sh', '-c', NS_SCRIPT, 'sim-netns', ...argv], { cwd: o.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(o.stdin ?? '');
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => {
    stderr += `\nsim-netns: timed out after ${o.timeoutMs} ms\n`;
    if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL'); // the namespace shell we spawned
  }, o.timeoutMs ?? 240_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  await killTagged(tag); // anything of this run still alive (a detached second stage)
  return { code, signal, stdout, stderr, durationMs: Date.now() - started };
}

export function removeRoot(root: string): void {
  if (!process.env.E2E_KEEP) rmSync(root, { recursive: true, force: true });
}
