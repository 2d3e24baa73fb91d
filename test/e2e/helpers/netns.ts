// e2e helpers: run a command line inside a private network namespace with a C2
// stub listening on a documentation address, build throw-away consumer projects
// from the fixture packages, and read guarded-install's NDJSON event logs.
//
// Safety: every install runs under `unshare -rn` (new user + network namespace,
// nothing but lo inside), so the only reachable addresses are loopback and
// 203.0.113.45, which we put on that lo. HOME, TMPDIR and the npm cache always
// point at fresh temp dirs. We only ever signal pids we started.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const BIN = join(REPO_ROOT, 'bin', 'guarded-install.js');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'packages');
export const C2_STUB = join(FIXTURES, 'c2-stub', 'server.mjs');
export const C2_IP = '203.0.113.45';
export const C2_PORT = 4444;
// npm flags for every install: nothing may need the registry
export const NPM_OFFLINE_ARGS = ['--no-audit', '--no-fund', '--offline'] as const;

// POSIX-shell single quoting.
export function sh(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shJoin(words: readonly string[]): string {
  return words.map(sh).join(' ');
}

export interface NetnsResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  // one line per TCP connection the C2 stub accepted during the session
  connections: string[];
  durationMs: number;
}

export interface NetnsOptions {
  // scratch dir for the stub's ready file, pid file, log and connection log
  workDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  // SIGKILL the session (the pid we spawned) after this long
  timeoutMs?: number;
}

export interface NetnsSession {
  child: ChildProcess;
  // The spawned pid. The namespace script `exec`s the command line, so if the
  // command line itself ends in `exec <prog>`, this is <prog>'s pid.
  pid: number;
  done: Promise<NetnsResult>;
}

// Runs inside the namespace: $1 is the command line. Everything else comes in
// through E2E_NETNS_* variables.
const NETNS_SCRIPT = `
ip link set lo up || exit 90
ip addr add ${C2_IP}/32 dev lo || exit 90
node "$E2E_NETNS_STUB" "$E2E_NETNS_DIR/ready" "$E2E_NETNS_DIR/connections.log" "$E2E_NETNS_PORT" </dev/null >"$E2E_NETNS_DIR/stub.log" 2>&1 &
stub=$!
echo "$stub" > "$E2E_NETNS_DIR/stub.pid"
i=0
while [ ! -e "$E2E_NETNS_DIR/ready" ]; do
  if ! kill -0 "$stub" 2>/dev/null || [ "$i" -gt 600 ]; then
    echo "e2e netns: the C2 stub did not start:" >&2
    cat "$E2E_NETNS_DIR/stub.log" >&2
    exit 91
  fi
  i=$((i + 1))
  sleep 0.05
done
exec /bin/sh -c "$1"
`;

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

// The stub ends itself once its parent is gone; this is the backstop. Only the
// pid it wrote, and only if that pid still is our stub.
function stopStub(workDir: string): void {
  const pid = Number(readText(join(workDir, 'stub.pid')).trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  if (!readText(`/proc/${pid}/cmdline`).includes(C2_STUB)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

export function startInNetns(commandLine: string, options: NetnsOptions): NetnsSession {
  mkdirSync(options.workDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...(options.env ?? process.env),
    E2E_NETNS_STUB: C2_STUB,
    E2E_NETNS_DIR: options.workDir,
    E2E_NETNS_PORT: String(C2_PORT),
  };
  const started = Date.now();
  const child = spawn('unshare', ['-rn', '/bin/sh', '-c', NETNS_SCRIPT, 'e2e-netns', commandLine], {
    cwd: options.cwd ?? options.workDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('could not spawn unshare');
  const pid = child.pid;
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => {
    stderr += `\ne2e netns: timed out after ${options.timeoutMs} ms, killing pid ${pid}\n`;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, options.timeoutMs ?? 240_000);
  const done = new Promise<NetnsResult>((resolvePromise, reject) => {
    child.once('error', reject);
    // 'close': the command's output is complete (the stub's stdio goes to a file)
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      stopStub(options.workDir);
      const connections = readText(join(options.workDir, 'connections.log')).split('\n').filter(Boolean);
      resolvePromise({ exitCode, signal, stdout, stderr, connections, durationMs: Date.now() - started });
    });
  });
  return { child, pid, done };
}

export function runInNetns(commandLine: string, options: NetnsOptions): Promise<NetnsResult> {
  return startInNetns(commandLine, options).done;
}

// ---------------------------------------------------------------------------
// Temp projects

export interface FixtureDep {
  name: string;
  version: string;
  tarball: string; // file name inside the project dir
}

export interface TempProject {
  root: string; // everything of this project lives below here
  dir: string; // the consumer project
  deps: FixtureDep[];
}

export function makeTempRoot(label: string): string {
  // realpath: traced paths are resolved ones, so compare against those
  return realpathSync(mkdtempSync(join(tmpdir(), `gi-e2e-${label}-`)));
}

// A fresh HOME (with a decoy ~/.npmrc holding a fake token), TMPDIR and npm cache.
export interface RunDirs {
  base: string;
  home: string;
  tmp: string;
  cache: string;
  npmrc: string;
}

export const DECOY_TOKEN = 'npm_E2EdecoyTokenNotReal0000000000000000';

export function freshRunDirs(parent: string, label: string): RunDirs {
  const base = join(parent, label);
  const dirs = { base, home: join(base, 'home'), tmp: join(base, 'tmp'), cache: join(base, 'npm-cache') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const npmrc = join(dirs.home, '.npmrc');
  writeFileSync(npmrc, `//registry.npmjs.org/:_authToken=${DECOY_TOKEN}\n`);
  return { ...dirs, npmrc };
}

// Environment for commands of one run: the caller's PATH etc., fresh HOME /
// TMPDIR / cache, and none of guarded-install's or npm's own settings leaking in.
export function runEnv(dirs: RunDirs, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GUARDED_INSTALL_') || k.toLowerCase().startsWith('npm_') || k === 'NODE_OPTIONS' || k === 'VITEST' || k.startsWith('VITEST_')) continue;
    env[k] = v;
  }
  return { ...env, HOME: dirs.home, TMPDIR: dirs.tmp, npm_config_cache: dirs.cache, npm_config_update_notifier: 'false', NO_COLOR: '1', ...extra };
}

// Shell prefix that sets the fresh-run environment for one command.
export function runEnvPrefix(dirs: RunDirs): string {
  return `HOME=${sh(dirs.home)} TMPDIR=${sh(dirs.tmp)} npm_config_cache=${sh(dirs.cache)}`;
}

// Packs fixture packages (real folders under test/fixtures/packages) into the
// project dir and writes a consumer package.json depending on them.
export function makeProject(label: string, fixtures: string[]): TempProject {
  const root = makeTempRoot(label);
  const dir = join(root, 'project');
  mkdirSync(dir);
  const packDirs = freshRunDirs(root, 'pack');
  const deps: FixtureDep[] = [];
  for (const fixture of fixtures) {
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: join(FIXTURES, fixture),
      env: runEnv(packDirs),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [info] = JSON.parse(out) as Array<{ name: string; version: string; filename: string }>;
    if (!info || !existsSync(join(dir, info.filename))) throw new Error(`npm pack ${fixture}: no tarball (${out})`);
    deps.push({ name: info.name, version: info.version, tarball: info.filename });
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({
    name: `e2e-consumer-${label}`,
    version: '1.0.0',
    private: true,
    dependencies: Object.fromEntries(deps.map((d) => [d.name, `file:./${d.tarball}`])),
    allowScripts: Object.fromEntries(deps.map((d) => [d.name, true])),
  }, null, 2)}\n`);
  return { root, dir, deps };
}

// Fresh node_modules: shell snippet and the same in-process.
export function resetProjectShell(project: TempProject): string {
  return `rm -rf ${sh(join(project.dir, 'node_modules'))} ${sh(join(project.dir, 'package-lock.json'))}`;
}

export function resetProject(project: TempProject): void {
  rmSync(join(project.dir, 'node_modules'), { recursive: true, force: true });
  rmSync(join(project.dir, 'package-lock.json'), { force: true });
}

export function removeTempRoot(root: string): void {
  if (process.env.E2E_KEEP) return;
  rmSync(root, { recursive: true, force: true });
}

// `node bin/guarded-install.js ...` as a shell command line.
export function guardedInstallCommand(args: { project: TempProject; events?: string; report?: string; extra?: string[]; npmArgs?: readonly string[] }): string {
  const words = [process.execPath, BIN, 'install', '-C', args.project.dir];
  if (args.events) words.push('--events', args.events);
  if (args.report) words.push('--report', args.report);
  words.push(...(args.extra ?? []), '--', ...(args.npmArgs ?? NPM_OFFLINE_ARGS));
  return shJoin(words);
}

function findOnPath(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

// A bin dir holding only the named tools (symlinks to what PATH resolves now).
export function restrictedBinDir(dir: string, tools: string[]): string {
  mkdirSync(dir, { recursive: true });
  for (const tool of tools) {
    const target = tool === 'node' ? process.execPath : findOnPath(tool);
    if (!target) throw new Error(`restrictedBinDir: ${tool} not found on PATH`);
    symlinkSync(target, join(dir, tool));
  }
  return dir;
}

// ---------------------------------------------------------------------------
// Events and reports

export interface EcsEvent {
  '@timestamp': string;
  event: { action: string; kind: string; category: string[]; type: string[]; sequence: number; outcome?: string };
  package: { name: string; version: string; path: string };
  npm: { lifecycle_event: string; script_id: string; ancestry: number[] };
  process: { pid: number; parent?: { pid: number }; executable?: string; name?: string; args?: string[]; exit_code?: number; uptime?: number; working_directory?: string };
  destination?: { ip?: string; port?: number; address: string };
  network?: { transport: string; type?: string };
  file?: { path: string; type?: string };
  // ECS has no field for these: our custom namespaces (src/events/ecs.ts)
  syscall?: { name?: string; result?: string; signal?: string };
  run?: { tracer?: string; outcome_action?: string };
  message?: string;
}

export function readEvents(path: string): EcsEvent[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as EcsEvent);
}

export interface ReportJson {
  verdict: string;
  tracer: string;
  tracerStatus: { ok: boolean; detail: string };
  killed: boolean;
  exitCode: number;
  blockedPackages: string[];
  npm: { args: string[]; exitCode: number | null; signal: string | null; durationMs: number };
  packages: Array<{ name: string; version: string; lifecycle: string[]; score: number; findings: unknown[]; scripts: Array<{ id: string; event: string; command: string; exitCode: number | null; durationMs: number | null }> }>;
  outlived: Array<{ package: string; pid: number; args: string[]; killed: boolean }>;
  // present once detection/response exists: one entry per blocked package
  response?: Array<{ package: string; rule: string; pids: number[]; treeDeadAt: string | null }>;
  timeline: Array<{ type: string; package?: string; detail?: string }>;
  events: { total: number; byKind: Record<string, number> };
}

export function readReport(path: string): ReportJson {
  return JSON.parse(readFileSync(path, 'utf8')) as ReportJson;
}

export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
