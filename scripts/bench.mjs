#!/usr/bin/env node
// Supervision overhead benchmark for guarded-install.
//
// Copies a fixed project (default: ../shared/bench-project relative to the
// repo root) into a fresh temp dir, warms a dedicated npm cache with one
// untimed plain install, then runs N interleaved rounds (ABBA order) of
//   plain:      npm install <npm args>
//   supervised: node bin/guarded-install.js --report <tmp>/report.json [flags] -- <npm args>
// with `rm -rf node_modules` (untimed) before every run, and prints per-run
// wall times, medians and the supervised/plain ratio.
//
// Run `node scripts/bench.mjs --help` for the flags. Plain ESM, node built-ins only.

import { spawn, execFileSync } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants as fsConstants,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_PROJECT = path.resolve(REPO_ROOT, '..', 'shared', 'bench-project');
export const DEFAULT_RUNS = 5;

/** npm args shared verbatim by the plain and the supervised side. */
export const NPM_ARGS = Object.freeze([
  '--dangerously-allow-all-scripts',
  '--no-audit',
  '--no-fund',
  '--prefer-offline',
]);

export const USAGE = `Usage: node scripts/bench.mjs [options]   (or: npm run bench -- [options])

Measures the wall-time overhead of running \`npm install\` under guarded-install.

Options:
  --runs <n>            rounds to run (default ${DEFAULT_RUNS}); each round = 1 plain + 1 supervised, ABBA order
  --project <dir>       project to install (package.json + package-lock.json)
                        (default: <repo>/../shared/bench-project)
  --tracer <name>       forwarded to guarded-install as --tracer <name>
  --guarded-arg <x>     extra flag forwarded to guarded-install (repeatable; also --guarded-arg=<x>)
  --max-ratio <r>       exit 1 when the supervised/plain median ratio exceeds r
  --json <file>         write the raw figures as JSON
  --plain-only          only plain installs (two per round, A/A) to measure noise
  --keep                keep the temp dir (project, npm cache, logs, reports)
  -h, --help            show this help
`;

export class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Parse CLI arguments. Pure: throws UsageError on bad input.
 * Value-taking flags accept `--flag value` and `--flag=value`; `--guarded-arg`
 * always consumes the next token, even if it starts with `-`.
 */
export function parseBenchArgs(argv) {
  const opts = {
    runs: DEFAULT_RUNS,
    project: DEFAULT_PROJECT,
    tracer: undefined,
    guardedArgs: [],
    maxRatio: undefined,
    json: undefined,
    plainOnly: false,
    keep: false,
    help: false,
  };
  const valueFlags = new Set(['--runs', '--project', '--tracer', '--guarded-arg', '--max-ratio', '--json']);
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    let flag = tok;
    let value;
    const eq = tok.indexOf('=');
    if (tok.startsWith('--') && eq > 2) {
      flag = tok.slice(0, eq);
      value = tok.slice(eq + 1);
    }
    if (valueFlags.has(flag)) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
        value = argv[++i];
      }
    } else if (value !== undefined) {
      throw new UsageError(`${flag} does not take a value`);
    }
    switch (flag) {
      case '--runs': {
        if (!/^\d+$/.test(value) || Number(value) < 1) {
          throw new UsageError(`--runs must be a positive integer, got ${JSON.stringify(value)}`);
        }
        opts.runs = Number(value);
        break;
      }
      case '--project':
        if (value === '') throw new UsageError('--project needs a non-empty value');
        opts.project = path.resolve(value);
        break;
      case '--tracer':
        if (value === '') throw new UsageError('--tracer needs a non-empty value');
        opts.tracer = value;
        break;
      case '--guarded-arg':
        opts.guardedArgs.push(value);
        break;
      case '--max-ratio': {
        const r = Number(value);
        if (value.trim() === '' || !Number.isFinite(r) || r <= 0) {
          throw new UsageError(`--max-ratio must be a positive number, got ${JSON.stringify(value)}`);
        }
        opts.maxRatio = r;
        break;
      }
      case '--json':
        if (value === '') throw new UsageError('--json needs a non-empty value');
        opts.json = path.resolve(value);
        break;
      case '--plain-only':
        opts.plainOnly = true;
        break;
      case '--keep':
        opts.keep = true;
        break;
      case '-h':
      case '--help':
        opts.help = true;
        break;
      default:
        throw new UsageError(`unknown argument ${JSON.stringify(tok)}`);
    }
  }
  return opts;
}

/**
 * The two kinds run in round `round` (0-based), in order. ABBA: even rounds
 * run the A side (plain) first, odd rounds the B side first. With plainOnly
 * the B side is a second plain install (A/A noise measurement).
 */
export function roundOrder(round, plainOnly = false) {
  const a = 'plain';
  const b = plainOnly ? 'plain2' : 'supervised';
  return round % 2 === 0 ? [a, b] : [b, a];
}

export function median(values) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summarize(values) {
  const n = values.length;
  if (n === 0) return { n: 0, median: NaN, mean: NaN, min: NaN, max: NaN, stdev: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return {
    n,
    median: median(values),
    mean,
    min: Math.min(...values),
    max: Math.max(...values),
    stdev: Math.sqrt(variance),
  };
}

/** Ratio of medians of kind `b` over kind `a`, from run records {kind, seconds}. */
export function medianRatio(runs, b = 'supervised', a = 'plain') {
  const mb = median(runs.filter((r) => r.kind === b).map((r) => r.seconds));
  const ma = median(runs.filter((r) => r.kind === a).map((r) => r.seconds));
  return mb / ma;
}

/** Median over rounds of the per-round ratio b/a (robust to slow drift). */
export function pairedRatio(runs, b = 'supervised', a = 'plain') {
  const byRound = new Map();
  for (const r of runs) {
    if (!byRound.has(r.round)) byRound.set(r.round, {});
    byRound.get(r.round)[r.kind] = r.seconds;
  }
  const ratios = [];
  for (const v of byRound.values()) {
    if (typeof v[a] === 'number' && typeof v[b] === 'number' && v[a] > 0) ratios.push(v[b] / v[a]);
  }
  return median(ratios);
}

/**
 * Number of lifecycle scripts recorded in a guarded-install report.
 * Tolerant: sums `packages[].scripts.length` (packages may be an array or an
 * object keyed by name); falls back to a top-level `scripts` array.
 * Returns 0 for anything unrecognisable.
 */
export function countLifecycleScripts(report) {
  if (report === null || typeof report !== 'object') return 0;
  const pkgs = report.packages;
  const list = Array.isArray(pkgs) ? pkgs : pkgs && typeof pkgs === 'object' ? Object.values(pkgs) : [];
  let total = 0;
  for (const p of list) {
    if (p && typeof p === 'object' && Array.isArray(p.scripts)) total += p.scripts.length;
  }
  if (total === 0 && Array.isArray(report.scripts)) total = report.scripts.length;
  return total;
}

/** Short human labels ("esbuild@0.24.2 postinstall (exit 0)") for the scripts in a report. */
export function describeLifecycleScripts(report) {
  if (report === null || typeof report !== 'object') return [];
  const pkgs = report.packages;
  const entries = Array.isArray(pkgs)
    ? pkgs.map((p) => [undefined, p])
    : pkgs && typeof pkgs === 'object'
      ? Object.entries(pkgs)
      : [];
  const out = [];
  for (const [key, p] of entries) {
    if (!p || typeof p !== 'object' || !Array.isArray(p.scripts)) continue;
    const name = typeof p.name === 'string' ? p.name : (key ?? '?');
    const id =
      typeof p.id === 'string'
        ? p.id
        : typeof p.version === 'string' && !name.endsWith(`@${p.version}`)
          ? `${name}@${p.version}`
          : name;
    for (const s of p.scripts) {
      const event = s && typeof s.event === 'string' ? s.event : '?';
      const exit = s && (typeof s.exitCode === 'number' || s.exitCode === null) ? ` (exit ${s.exitCode})` : '';
      out.push(`${id} ${event}${exit}`);
    }
  }
  return out;
}

/** Argument vector (after `node`) for a supervised run. */
export function supervisedArgs({ bin, reportPath, tracer, guardedArgs = [], npmArgs = NPM_ARGS }) {
  const args = [bin, '--report', reportPath];
  if (tracer !== undefined) args.push('--tracer', tracer);
  args.push(...guardedArgs, '--', ...npmArgs);
  return args;
}

/** Argument vector (after `npm`) for a plain run. */
export function plainArgs(npmArgs = NPM_ARGS) {
  return ['install', ...npmArgs];
}

const NPM_RUN_CONFIG_VARS = new Set([
  'npm_config_local_prefix',
  'npm_config_prefix',
  'npm_config_global_prefix',
  'npm_config_user_agent',
  'npm_config_npm_version',
  'npm_config_node_gyp',
  'npm_config_cache',
]);

/**
 * Child environment: drops what `npm run bench` injects (npm_lifecycle_*,
 * npm_package_*, prefix/user-agent config, empty npm_config_* placeholders,
 * node_modules/.bin PATH entries) so that `npm run bench` and
 * `node scripts/bench.mjs` measure the same thing, then applies `overrides`.
 */
export function cleanChildEnv(env, overrides = {}) {
  const out = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    const lk = k.toLowerCase();
    if (lk.startsWith('npm_')) {
      if (!lk.startsWith('npm_config_')) continue;
      if (NPM_RUN_CONFIG_VARS.has(lk) || v === '') continue;
    }
    out[k] = v;
  }
  const pathKey = Object.keys(out).find((k) => k.toUpperCase() === 'PATH');
  if (pathKey) {
    out[pathKey] = out[pathKey]
      .split(path.delimiter)
      .filter((p) => p !== '' && !/[\\/]node_modules[\\/]\.bin[\\/]?$/.test(p) && !/node-gyp-bin[\\/]?$/.test(p))
      .join(path.delimiter);
  }
  return { ...out, ...overrides };
}

export function tailLines(text, n) {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(-n).join('\n');
}

export function formatRunsTable(runs) {
  const withLoad = runs.some((r) => typeof r.load1 === 'number');
  const head = ['round', 'order', 'kind', 'seconds', ...(withLoad ? ['load1'] : [])];
  const rows = runs.map((r) => [
    String(r.round),
    String(r.order),
    r.kind,
    r.seconds.toFixed(3),
    ...(withLoad ? [typeof r.load1 === 'number' ? r.load1.toFixed(2) : '-'] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (row) =>
    row.map((c, i) => (i === 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n');
}

export function formatSummaryLine(kind, s) {
  const spread = s.median > 0 ? ((s.max - s.min) / s.median) * 100 : NaN;
  return (
    `${kind.padEnd(10)}  median ${s.median.toFixed(3)} s  ` +
    `(n=${s.n}, mean ${s.mean.toFixed(3)}, min ${s.min.toFixed(3)}, max ${s.max.toFixed(3)}, ` +
    `stdev ${s.stdev.toFixed(3)}, spread ${spread.toFixed(1)}%)`
  );
}

// ---------------------------------------------------------------------------
// Side-effecting part.

const t0 = process.hrtime.bigint();
function progress(msg) {
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stderr.write(`[bench +${secs.toFixed(1).padStart(6)}s] ${msg}\n`);
}

class BenchFailure extends Error {}

function findOnPath(cmd, env) {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const d of dirs) {
    const p = path.join(d, cmd);
    try {
      accessSync(p, fsConstants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

function firstLine(cmd, args, env) {
  try {
    return execFileSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 })
      .split('\n')[0]
      .trim();
  } catch {
    return undefined;
  }
}

let currentChild;

/** Spawn, wait, return {code, signal, seconds}. stdout+stderr go to logFile. */
function timedRun(cmd, args, { cwd, env, logFile }) {
  return new Promise((resolve, reject) => {
    const fd = openSync(logFile, 'a');
    writeFileSync(fd, `$ (cd ${cwd} && ${[cmd, ...args].join(' ')})\n`);
    let child;
    const start = process.hrtime.bigint();
    try {
      // detached: own process group, so an interrupt can take down the whole tree.
      child = spawn(cmd, args, { cwd, env, stdio: ['ignore', fd, fd], detached: true });
    } catch (err) {
      closeSync(fd);
      reject(err);
      return;
    }
    currentChild = child;
    child.once('error', (err) => {
      currentChild = undefined;
      closeSync(fd);
      reject(err);
    });
    child.once('close', (code, signal) => {
      const end = process.hrtime.bigint();
      currentChild = undefined;
      closeSync(fd);
      resolve({ code, signal, seconds: Number(end - start) / 1e9 });
    });
  });
}

function resetProject(projectDir, sourceDir) {
  rmSync(path.join(projectDir, 'node_modules'), { recursive: true, force: true });
  // npm may rewrite the lockfile; restore both manifests so every run starts identical.
  for (const f of ['package.json', 'package-lock.json']) {
    const src = path.join(sourceDir, f);
    if (existsSync(src)) copyFileSync(src, path.join(projectDir, f));
  }
}

async function main(argv) {
  let opts;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.plainOnly && opts.maxRatio !== undefined) {
    progress('note: --max-ratio is ignored with --plain-only');
  }
  if (opts.plainOnly && (opts.tracer !== undefined || opts.guardedArgs.length > 0)) {
    progress('note: --tracer/--guarded-arg are ignored with --plain-only');
  }

  // --- preflight -----------------------------------------------------------
  if (!existsSync(path.join(opts.project, 'package.json'))) {
    process.stderr.write(`bench: no package.json in project dir ${opts.project}\n`);
    return 2;
  }
  if (!existsSync(path.join(opts.project, 'package-lock.json'))) {
    progress(`warning: ${opts.project} has no package-lock.json; installs will resolve versions`);
  }
  const guardedBin = path.join(REPO_ROOT, 'bin', 'guarded-install.js');
  if (!opts.plainOnly) {
    const missing = [guardedBin, path.join(REPO_ROOT, 'dist', 'cli.js')].filter((p) => !existsSync(p));
    if (missing.length > 0) {
      process.stderr.write(
        `bench: guarded-install is not built (missing ${missing.join(', ')}); run \`npm run build\` ` +
          `(or use \`npm run bench\`), or pass --plain-only\n`,
      );
      return 2;
    }
  }

  const tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'guarded-install-bench-')));
  const projectDir = path.join(tmp, 'project');
  const cacheDir = path.join(tmp, 'npm-cache');
  const logDir = path.join(tmp, 'logs');
  const reportDir = path.join(tmp, 'reports');
  const reportPath = path.join(tmp, 'report.json');
  for (const d of [projectDir, cacheDir, logDir, reportDir]) mkdirSync(d, { recursive: true });

  const env = cleanChildEnv(process.env, {
    npm_config_cache: cacheDir,
    npm_config_update_notifier: 'false',
  });

  let interrupted = false;
  const killChildGroup = (sig) => {
    if (!currentChild?.pid) return;
    try {
      process.kill(-currentChild.pid, sig);
    } catch {
      // already gone
    }
  };
  const onSignal = (sig) => {
    if (interrupted) {
      killChildGroup('SIGKILL'); // second interrupt: no more waiting
      return;
    }
    interrupted = true;
    process.stderr.write(`\nbench: ${sig}, stopping\n`);
    killChildGroup('SIGTERM');
    // npm rolls back a half-done reify on SIGTERM, which can take many seconds.
    setTimeout(() => killChildGroup('SIGKILL'), 3000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const npmPath = findOnPath('npm', env);
    if (!npmPath) throw new BenchFailure('npm not found on PATH');

    // --- header (stdout) -----------------------------------------------------
    const cpus = os.cpus();
    const machine = {
      nproc: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
      cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
      memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      node: process.version,
      npm: firstLine(npmPath, ['--version'], env) ?? 'unknown',
      npmPath,
      strace: opts.plainOnly ? undefined : firstLine('strace', ['-V'], env),
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    };
    const out = [];
    const print = (line = '') => {
      out.push(line);
      process.stdout.write(line + '\n');
    };
    print('guarded-install supervision benchmark');
    print(`nproc ${machine.nproc}  cpu ${machine.cpuModel}  mem ${machine.memGiB} GiB  ${machine.platform}`);
    print(`node ${machine.node}  npm ${machine.npm} (${machine.npmPath})${machine.strace ? `  ${machine.strace}` : ''}`);
    print(`loadavg ${machine.loadavg.join(' ')}`);
    print(`project ${opts.project}`);
    print(`npm args: ${NPM_ARGS.join(' ')}`);
    if (!opts.plainOnly) {
      print(
        `supervised: node bin/guarded-install.js ${supervisedArgs({
          bin: '',
          reportPath: '<tmp>/report.json',
          tracer: opts.tracer,
          guardedArgs: opts.guardedArgs,
        })
          .slice(1)
          .join(' ')}`,
      );
    }
    print(`rounds ${opts.runs}${opts.plainOnly ? ' (plain-only, A/A)' : ''}`);
    print();

    // --- setup ----------------------------------------------------------------
    progress(`temp dir ${tmp}`);
    // Whole project (so file: deps / .npmrc come along), minus any installed tree.
    cpSync(opts.project, projectDir, {
      recursive: true,
      filter: (src) => {
        const rel = path.relative(opts.project, src);
        return rel !== 'node_modules' && rel !== '.git';
      },
    });
    resetProject(projectDir, opts.project);
    progress(`copied ${opts.project} -> ${projectDir}`);

    const logTail = (logFile) => {
      let tail = '(no log)';
      try {
        tail = tailLines(readFileSync(logFile, 'utf8'), 40);
      } catch {
        // no log
      }
      const where = opts.keep ? logFile : `${path.basename(logFile)}; rerun with --keep to keep the logs`;
      return `last lines of the log (${where}):\n${tail}`;
    };
    const abort = (what, res, logFile) => {
      const how = res.signal ? `signal ${res.signal}` : `exit code ${res.code}`;
      return new BenchFailure(`${what} failed (${how}); ${logTail(logFile)}`);
    };

    progress(`warm-up: plain npm install (untimed, fills ${cacheDir}) ...`);
    {
      const logFile = path.join(logDir, 'warmup.log');
      const res = await timedRun(npmPath, plainArgs(), { cwd: projectDir, env, logFile });
      if (interrupted) throw new BenchFailure('interrupted');
      if (res.code !== 0) throw abort('warm-up install', res, logFile);
      progress(`warm-up done in ${res.seconds.toFixed(1)} s`);
    }

    // --- timed rounds -----------------------------------------------------------
    const runs = [];
    let scriptsSeen;
    for (let i = 0; i < opts.runs; i++) {
      const order = roundOrder(i, opts.plainOnly);
      for (let j = 0; j < order.length; j++) {
        const kind = order[j];
        if (interrupted) throw new BenchFailure('interrupted');
        const label = `round ${i + 1}/${opts.runs} ${kind}`;
        resetProject(projectDir, opts.project);
        const logFile = path.join(logDir, `round-${i + 1}-${kind}.log`);
        const load1 = Math.round(os.loadavg()[0] * 100) / 100; // contention indicator, sampled before the run
        let res;
        if (kind === 'supervised') {
          rmSync(reportPath, { force: true });
          progress(`${label}: guarded-install ... (log ${path.basename(logFile)})`);
          res = await timedRun(
            process.execPath,
            supervisedArgs({ bin: guardedBin, reportPath, tracer: opts.tracer, guardedArgs: opts.guardedArgs }),
            { cwd: projectDir, env, logFile },
          );
        } else {
          progress(`${label}: npm install ... (log ${path.basename(logFile)})`);
          res = await timedRun(npmPath, plainArgs(), { cwd: projectDir, env, logFile });
        }
        if (interrupted) throw new BenchFailure('interrupted');
        if (res.code !== 0) throw abort(label, res, logFile);
        const run = { round: i + 1, order: j + 1, kind, seconds: res.seconds, load1 };

        if (kind === 'supervised') {
          let report;
          try {
            report = JSON.parse(readFileSync(reportPath, 'utf8'));
          } catch (err) {
            throw new BenchFailure(`${label}: could not read the report ${reportPath}: ${err.message}\n${logTail(logFile)}`);
          }
          renameSync(reportPath, path.join(reportDir, `round-${i + 1}.json`));
          const n = countLifecycleScripts(report);
          run.lifecycleScripts = n;
          if (scriptsSeen === undefined) {
            scriptsSeen = n;
            const names = describeLifecycleScripts(report);
            progress(`lifecycle scripts seen under supervision: ${n}${names.length ? ` -> ${names.join(', ')}` : ''}`);
          }
          if (n === 0) {
            throw new BenchFailure(
              `${label}: the report lists 0 lifecycle scripts - install scripts did not run under ` +
                `supervision, so the timing would be meaningless (is --dangerously-allow-all-scripts ` +
                `forwarded to npm?)\n${logTail(logFile)}`,
            );
          }
          if (n !== scriptsSeen) progress(`warning: ${label} saw ${n} lifecycle scripts, first run saw ${scriptsSeen}`);
        }
        runs.push(run);
        progress(`${label}: ${res.seconds.toFixed(3)} s`);
      }
    }

    // --- results ------------------------------------------------------------------
    print(formatRunsTable(runs));
    print('(load1 = 1-minute load average just before the run; nproc ' + machine.nproc + ')');
    print();
    const plainSum = summarize(runs.filter((r) => r.kind === 'plain').map((r) => r.seconds));
    const result = {
      version: 1,
      date: new Date().toISOString(),
      machine,
      config: {
        runs: opts.runs,
        project: opts.project,
        npmArgs: [...NPM_ARGS],
        plainOnly: opts.plainOnly,
        tracer: opts.tracer ?? null,
        guardedArgs: opts.guardedArgs,
        maxRatio: opts.maxRatio ?? null,
      },
      runs,
      summary: {},
    };
    let exitCode = 0;
    if (opts.plainOnly) {
      const allPlain = summarize(runs.map((r) => r.seconds));
      const plain2Sum = summarize(runs.filter((r) => r.kind === 'plain2').map((r) => r.seconds));
      const aa = medianRatio(runs, 'plain2', 'plain');
      const aaPaired = pairedRatio(runs, 'plain2', 'plain');
      print(formatSummaryLine('plain (A)', plainSum));
      print(formatSummaryLine('plain (B)', plain2Sum));
      print(formatSummaryLine('plain all', allPlain));
      print(`A/A ratio (plain B/plain A, median wall time): ${aa.toFixed(3)}  (noise floor, ideal 1.000)`);
      print(`A/A paired ratio (median of per-round B/A): ${aaPaired.toFixed(3)}`);
      result.summary = { plain: plainSum, plain2: plain2Sum, plainAll: allPlain, aaRatio: aa, aaPairedRatio: aaPaired };
    } else {
      const supSum = summarize(runs.filter((r) => r.kind === 'supervised').map((r) => r.seconds));
      const ratio = medianRatio(runs);
      const paired = pairedRatio(runs);
      print(formatSummaryLine('plain', plainSum));
      print(formatSummaryLine('supervised', supSum));
      print(`lifecycle scripts seen under supervision: ${scriptsSeen}`);
      print(`overhead (median): ${(supSum.median - plainSum.median).toFixed(3)} s`);
      print(`paired ratio (median of per-round supervised/plain): ${paired.toFixed(3)}`);
      print(`ratio (supervised/plain, median wall time): ${ratio.toFixed(3)}`);
      result.summary = {
        plain: plainSum,
        supervised: supSum,
        ratio,
        pairedRatio: paired,
        overheadSeconds: supSum.median - plainSum.median,
        lifecycleScripts: scriptsSeen,
      };
      if (opts.maxRatio !== undefined) {
        if (ratio > opts.maxRatio) {
          print(`FAIL: ratio ${ratio.toFixed(3)} > --max-ratio ${opts.maxRatio}`);
          exitCode = 1;
        } else {
          print(`ok: ratio ${ratio.toFixed(3)} <= --max-ratio ${opts.maxRatio}`);
        }
        result.summary.maxRatioExceeded = exitCode === 1;
      }
    }
    if (opts.json) {
      mkdirSync(path.dirname(opts.json), { recursive: true });
      writeFileSync(opts.json, JSON.stringify(result, null, 2) + '\n');
      progress(`wrote ${opts.json}`);
    }
    return exitCode;
  } catch (err) {
    if (err instanceof BenchFailure) {
      process.stderr.write(`\nbench: FAILED: ${err.message}\n`);
      return interrupted ? 130 : 1;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (opts.keep) {
      progress(`kept temp dir ${tmp} (logs in ${logDir})`);
    } else {
      progress(`removing temp dir ${tmp}`);
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

function isMainModule() {
  if (!process.argv[1]) return false;
  try {
    return pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isMainModule()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`bench: unexpected error: ${err?.stack ?? err}\n`);
      process.exitCode = 1;
    },
  );
}
