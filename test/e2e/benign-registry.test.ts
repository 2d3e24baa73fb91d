// Benign acceptance: real, popular packages from the npm registry whose
// lifecycle scripts do legitimate work (binary checks and links, banners, a
// git-hook installer, a node-gyp source build) install under guarded-install
// with exit 0, verdict "pass" and every package below the threshold - and
// their scripts really ran and were traced (a passing run that traced nothing
// would prove nothing).
//
// Needs: a built dist/ (`npm run build`), strace, git, and for the source
// builds make, g++ and python3 plus Node headers (node-gyp's nodedir: taken
// from ~/.npmrc, or /usr when /usr/include/node/node.h exists). The npm
// registry must be reachable on a cold cache; the cache is shared by every
// test of this file and kept between runs (os.tmpdir()/guarded-install-e2e-
// npm-cache), so later installs are warm. Each install gets a fresh project,
// HOME (with a copy of ~/.npmrc) and TMPDIR. E2E_KEEP=1 keeps the temp dirs.
//
// Fixtures: test/fixtures/projects/benign-*/ (package.json, and package-lock.json
// where npm writes a usable one). Installs with a lockfile run `ci`, except husky:
// its case is the developer's `npm install` in a git checkout.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const BIN = join(REPO_ROOT, 'bin', 'guarded-install.js');
const PROJECTS = join(REPO_ROOT, 'test', 'fixtures', 'projects');
const NPM_CACHE = join(tmpdir(), 'guarded-install-e2e-npm-cache');
const KEEP = Boolean(process.env.E2E_KEEP);
// below vitest's 300 s per test, so we end the run (our own child) and still report
const RUN_TIMEOUT_MS = 270_000;

// ---------------------------------------------------------------------------
// Report and event shapes (the fields this file reads)

interface Finding {
  rule: string;
  points: number;
  lifecycle: string;
  evidence: Record<string, unknown>;
  allowlisted?: { entry: string; points: number };
}

interface PackageReport {
  name: string;
  version: string;
  path: string;
  lifecycle: string[];
  score: number;
  blocked: boolean;
  findings: Finding[];
  allowlisted: Finding[];
  scripts: Array<{ id: string; event: string; command: string; exitCode: number | null; durationMs: number | null; score: number }>;
}

interface Report {
  verdict: string;
  threshold: number;
  maxScore: number;
  tracer: string;
  tracerStatus: { ok: boolean; detail: string };
  killed: boolean;
  exitCode: number;
  blockedPackages: string[];
  packages: PackageReport[];
  outlived: Array<{ package: string; pid: number; args: string[]; killed: boolean }>;
  events: { total: number; byKind: Record<string, number> };
}

interface EcsEvent {
  event: { action: string };
  package: { name: string; version: string };
  npm: { lifecycle_event: string; script_id: string };
  process: { pid: number; name?: string; executable?: string; args?: string[] };
  file?: { path: string };
}

// ---------------------------------------------------------------------------
// The cases

interface Case {
  fixture: string; // folder under test/fixtures/projects
  pkg: string; // the package whose lifecycle script must run (the root project for husky)
  version: string;
  events: string[]; // its lifecycle events that must have run and exited 0
  command: 'install' | 'ci';
  npmArgs?: string[];
  gitInit?: boolean;
  // executables (basenames) that must show up as traced process-start events of the package
  traced: string[];
  // more proof that the script did its real work
  check?: (project: string, events: EcsEvent[]) => void;
}

// the addon was compiled here (at `relPath` inside node_modules/bcrypt), and bcrypt loads and works
const builtAddon = (project: string, relPath: string): void => {
  const addon = join(project, 'node_modules', 'bcrypt', relPath);
  expect(existsSync(addon), `${addon} was not built`).toBe(true);
  expect(statSync(addon).size).toBeGreaterThan(10_000);
  const out = execFileSync(process.execPath, ['-e', "const b=require('bcrypt');const h=b.hashSync('pw',4);process.stdout.write(String(b.compareSync('pw',h)))"], { cwd: project, encoding: 'utf8' });
  expect(out).toBe('true');
};

// the compiler, linker and python really ran under the package's install script
const sourceBuild = (events: EcsEvent[]): void => {
  const names = new Set(events.filter((e) => e.event.action === 'process-start').map((e) => e.process.name));
  expect([...names].some((n) => n === 'cc1plus' || n === 'g++' || n === 'c++'), `no C++ compiler traced: ${[...names].join(' ')}`).toBe(true);
};

const CASES: Case[] = [
  {
    fixture: 'benign-esbuild',
    pkg: 'esbuild',
    version: '0.28.2',
    events: ['postinstall'],
    command: 'ci',
    traced: ['node'],
    check: (project) => {
      const out = execFileSync(join(project, 'node_modules', '.bin', 'esbuild'), ['--version'], { encoding: 'utf8' });
      expect(out.trim()).toBe('0.28.2');
    },
  },
  {
    fixture: 'benign-sharp',
    pkg: 'sharp',
    version: '0.34.5',
    events: ['install'],
    command: 'ci',
    traced: ['node'],
    check: (project) => {
      const out = execFileSync(process.execPath, ['-e', "require('sharp')({create:{width:2,height:2,channels:3,background:'red'}}).png().toBuffer().then(b=>process.stdout.write(String(b.length>0)))"], { cwd: project, encoding: 'utf8' });
      expect(out).toBe('true');
    },
  },
  {
    fixture: 'benign-swc-core',
    pkg: '@swc/core',
    version: '1.16.22',
    events: ['postinstall'],
    // no lockfile: npm 11 writes one without some of @swc/core's platform
    // optionals (darwin-*, win32-*, ...), and `npm ci` then refuses it
    command: 'install',
    traced: ['node'],
    check: (project) => {
      const out = execFileSync(process.execPath, ['-e', "process.stdout.write(require('@swc/core').transformSync('const a: number = 1', {jsc:{target:'es2022',parser:{syntax:'typescript'}}}).code)"], { cwd: project, encoding: 'utf8' });
      expect(out.trim()).toBe('const a = 1;');
    },
  },
  {
    fixture: 'benign-core-js',
    pkg: 'core-js',
    version: '3.51.0',
    events: ['postinstall'],
    command: 'ci',
    traced: ['node'],
  },
  {
    fixture: 'benign-protobufjs',
    pkg: 'protobufjs',
    version: '7.6.6',
    events: ['postinstall'],
    command: 'ci',
    traced: ['node'],
  },
  {
    fixture: 'benign-husky',
    pkg: 'benign-husky',
    version: '1.0.0',
    events: ['prepare'],
    command: 'install',
    gitInit: true,
    traced: ['git'],
    check: (project) => {
      expect(existsSync(join(project, '.husky', '_', 'h')), 'husky did not write .husky/_/h').toBe(true);
      const hooksPath = execFileSync('git', ['config', 'core.hooksPath'], { cwd: project, encoding: 'utf8' }).trim();
      expect(hooksPath).toBe('.husky/_');
    },
  },
  {
    fixture: 'benign-bcrypt',
    pkg: 'bcrypt',
    version: '6.0.0',
    events: ['install'],
    command: 'ci',
    npmArgs: ['--build-from-source'],
    traced: ['node', 'make', 'python3'],
    check: (project, events) => {
      sourceBuild(events);
      builtAddon(project, 'build/Release/bcrypt_lib.node');
    },
  },
  {
    fixture: 'benign-bcrypt-node-pre-gyp',
    pkg: 'bcrypt',
    version: '5.1.1',
    events: ['install'],
    command: 'ci',
    npmArgs: ['--build-from-source'],
    traced: ['node', 'make', 'python3'],
    check: (project, events) => {
      sourceBuild(events);
      // node-pre-gyp builds in build/, parks it as build-tmp-napi-v3/ and installs the module into lib/binding/
      builtAddon(project, 'build-tmp-napi-v3/Release/bcrypt_lib.node');
      builtAddon(project, 'lib/binding/napi-v3/bcrypt_lib.node');
    },
  },
];

// ---------------------------------------------------------------------------
// Running one install

interface Run {
  root: string;
  project: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  durationMs: number;
  report: Report;
  events: EcsEvent[];
}

function userNpmrc(): string {
  const path = join(homedir(), '.npmrc');
  let text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  // node-gyp must find headers locally: nothing but the npm registry is reachable
  if (!/^\s*nodedir\s*=/m.test(text) && existsSync('/usr/include/node/node.h')) text += `${text === '' || text.endsWith('\n') ? '' : '\n'}nodedir=/usr\n`;
  return text;
}

function runEnv(home: string, tmp: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GUARDED_INSTALL_') || k.toLowerCase().startsWith('npm_') || k === 'NODE_OPTIONS' || k === 'VITEST' || k.startsWith('VITEST_')) continue;
    env[k] = v;
  }
  return { ...env, HOME: home, TMPDIR: tmp, npm_config_cache: NPM_CACHE, npm_config_update_notifier: 'false', NO_COLOR: '1' };
}

const roots: string[] = [];

const tail = (s: string, n = 4000): string => (s.length > n ? `...${s.slice(-n)}` : s);

async function guardedInstall(c: Case, tracer: Tracer): Promise<Run> {
  const root = realpathSync(mkdtempSync(join(tmpdir(), `gi-benign-${c.fixture.replace(/^benign-/, '')}-`)));
  roots.push(root); // removed in afterAll, whatever happens below
  const project = join(root, 'project');
  const home = join(root, 'home');
  const tmp = join(root, 'tmp');
  for (const d of [project, home, tmp]) mkdirSync(d, { recursive: true });
  writeFileSync(join(home, '.npmrc'), userNpmrc());
  for (const file of ['package.json', 'package-lock.json']) {
    const src = join(PROJECTS, c.fixture, file);
    if (existsSync(src)) copyFileSync(src, join(project, file));
  }
  const env = runEnv(home, tmp);
  if (c.gitInit) execFileSync('git', ['init', '-q'], { cwd: project, env, stdio: 'ignore' });
  const reportPath = join(root, 'report.json');
  const eventsPath = join(root, 'events.ndjson');
  const args = [BIN, c.command, '-C', project, '--tracer', tracer, '--report', reportPath, '--events', eventsPath, '--', '--no-audit', '--no-fund', '--prefer-offline', ...(c.npmArgs ?? [])];
  const started = Date.now();
  const child = spawn(process.execPath, args, { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  // only the pid we spawned; guarded-install forwards SIGTERM and ends its scripts
  let killTimer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    stderr += `\n[test] timed out after ${RUN_TIMEOUT_MS} ms, SIGTERM to pid ${child.pid}\n`;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  }, RUN_TIMEOUT_MS);
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res, rej) => {
    child.once('error', rej);
    child.once('close', (code, sig) => res([code, sig]));
  });
  clearTimeout(timer);
  if (killTimer) clearTimeout(killTimer);
  const durationMs = Date.now() - started;
  expect(existsSync(reportPath), `no report written (exit ${exitCode}, signal ${signal}); output:\n${tail(stderr)}`).toBe(true);
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
  const events = existsSync(eventsPath)
    ? readFileSync(eventsPath, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as EcsEvent)
    : [];
  return { root, project, exitCode, signal, stderr, durationMs, report, events };
}

// ---------------------------------------------------------------------------
// Table

type Tracer = 'strace' | 'proc';
// every case under both tracers: the proc fallback must not flag them either
const TRACERS: Tracer[] = ['strace', 'proc'];

interface Row {
  case: string;
  tracer: string;
  pkg: string;
  score: number;
  findings: string;
  allowlisted: string;
  seconds: string;
}

const rows: Row[] = [];

const ruleList = (fs: Finding[]): string => {
  const counts = new Map<string, number>();
  for (const f of fs) counts.set(`${f.rule}(${f.points})`, (counts.get(`${f.rule}(${f.points})`) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n > 1 ? `${k}x${n}` : k)).join(' ') || '-';
};

function addRows(c: Case, tracer: Tracer, run: Run): void {
  const pkgs = run.report.packages.length > 0 ? run.report.packages : [];
  for (const p of pkgs) {
    rows.push({
      case: c.fixture,
      tracer,
      pkg: `${p.name}@${p.version}`,
      score: p.score,
      findings: ruleList(p.findings),
      allowlisted: [...new Set(p.allowlisted.map((f) => f.rule))].join(' ') || '-',
      seconds: (run.durationMs / 1000).toFixed(1),
    });
  }
  if (pkgs.length === 0) rows.push({ case: c.fixture, tracer, pkg: '(no package traced)', score: NaN, findings: '-', allowlisted: '-', seconds: (run.durationMs / 1000).toFixed(1) });
}

function table(): string {
  const head: Row = { case: 'fixture', tracer: 'tracer', pkg: 'package', score: NaN, findings: 'findings (rule(points))', allowlisted: 'allowlisted rules', seconds: 'secs' };
  const cells = (r: Row): string[] => [r.case, r.tracer, r.pkg, Number.isNaN(r.score) ? (r === head ? 'score' : '?') : String(r.score), r.findings, r.allowlisted, r.seconds];
  const all = [head, ...rows].map(cells);
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(all[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...all.slice(1).map(line)].join('\n');
}

// ---------------------------------------------------------------------------

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const missing = ['strace', 'git', 'make', 'g++', 'python3'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length > 0) throw new Error(`benign-registry e2e needs ${missing.join(', ')} on PATH`);
  mkdirSync(NPM_CACHE, { recursive: true });
});

afterAll(() => {
  if (rows.length > 0) console.log(`benign packages from the registry under guarded-install:\n${table()}`);
  if (!KEEP) for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

describe('benign registry packages install under guarded-install', () => {
  for (const c of CASES) for (const tracer of TRACERS) {
    it(`${c.pkg}@${c.version} (${c.events.join(', ')}) passes below the threshold under ${tracer}: ${c.fixture}`, async () => {
      const run = await guardedInstall(c, tracer);
      addRows(c, tracer, run);
      const { report } = run;
      const where = `temp dir ${run.root}${KEEP ? '' : ' (E2E_KEEP=1 keeps it)'}`;
      const summary = JSON.stringify(report.packages.map((p) => ({ pkg: `${p.name}@${p.version}`, score: p.score, findings: p.findings.map((f) => ({ rule: f.rule, points: f.points, evidence: f.evidence })) })), null, 1);

      // it was traced, for real
      expect(report.tracer, `tracer: ${JSON.stringify(report.tracerStatus)}`).toBe(tracer);
      expect(report.tracerStatus.ok).toBe(true);

      // passed
      expect(run.signal, tail(run.stderr)).toBeNull();
      expect(run.exitCode, `exit ${run.exitCode}; ${where}; output:\n${tail(run.stderr)}\npackages: ${summary}`).toBe(0);
      expect(report.exitCode).toBe(0);
      expect(report.verdict, summary).toBe('pass');
      expect(report.threshold).toBe(70);
      expect(report.maxScore, summary).toBeLessThan(report.threshold);
      expect(report.blockedPackages).toEqual([]);
      expect(report.killed).toBe(false);
      expect(report.outlived, 'no script process may outlive the install').toEqual([]);
      for (const p of report.packages) {
        expect(p.score, `${p.name}@${p.version}: ${summary}`).toBeLessThan(report.threshold);
        expect(p.blocked).toBe(false);
      }

      // the package's lifecycle scripts ran, exited 0, and were traced
      const pkg = report.packages.find((p) => p.name === c.pkg && p.version === c.version);
      expect(pkg, `${c.pkg}@${c.version} not in the report: ${report.packages.map((p) => `${p.name}@${p.version}`).join(', ') || '(none)'}\n${tail(run.stderr)}`).toBeDefined();
      for (const event of c.events) {
        const script = pkg!.scripts.find((s) => s.event === event);
        expect(script, `${c.pkg} ${event} did not run: ${JSON.stringify(pkg!.scripts)}`).toBeDefined();
        expect(script!.exitCode, `${c.pkg} ${event}: ${script!.command}`).toBe(0);
        const mine = run.events.filter((e) => e.package.name === c.pkg && e.package.version === c.version && e.npm.lifecycle_event === event);
        expect(mine.some((e) => e.event.action === 'script-start'), `no script-start event for ${c.pkg} ${event}`).toBe(true);
        const started = new Set(mine.filter((e) => e.event.action === 'process-start').map((e) => e.process.name));
        for (const exe of c.traced) expect(started.has(exe), `${exe} not traced in ${c.pkg} ${event}; traced: ${[...started].join(' ')}`).toBe(true);
      }
      c.check?.(run.project, run.events.filter((e) => e.package.name === c.pkg));
    });
  }
});
