#!/usr/bin/env node
// Flood figures for guarded-install (issue 6): installs each flood fixture
// (test/fixtures/flood/) several ways and prints what the supervision costs and
// whether it keeps up:
//   no flood    npm install of the same package with a count of 0 (what the
//               install costs without the flood)
//   plain       npm install
//   supervised  node bin/guarded-install.js install --report ...
// these three interleaved for --rounds rounds (medians), then once
//   traced      the postinstall alone under strace with guarded-install's flags,
//               tracer and script on one CPU as guarded-install puts a busy
//               script (what tracing itself costs, no supervisor)
// Per flood: wall times and the supervised/plain and supervised/traced ratios,
// what the flood costs the plain install (plain - no flood) against what the
// supervision costs it (supervised - plain): the goal is supervision <= flood,
// the events the report counts and the rate the strace pipeline sustained,
// the supervisor's peak RSS (VmHWM of the guarded-install node process) and CPU
// time, whether the verdict arrived, and whether the report's counts match what
// the script says it did. Then the pipeline's own capacity: the traced run's
// strace output replayed through parser, assembler, detector, tally and ECS
// serialization, with no tracee to wait for.
//
//   npm run flood [-- --only files --files 100000 --json out.json --keep]
//
// Runs only on loopback; HOME, TMPDIR and the npm cache are fresh temp dirs.

import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median as benchMedian } from './bench.mjs';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(REPO_ROOT, 'bin', 'guarded-install.js');
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'flood');
const NPM_ARGS = ['--no-audit', '--no-fund', '--offline'];
const RSS_TARGET_MIB = 200;

export const FLOODS = {
  procs: { pkg: 'flood-procs', env: 'FLOOD_PROCS', count: 10_000, what: 'short processes' },
  files: { pkg: 'flood-files', env: 'FLOOD_FILES', count: 100_000, what: 'files written and deleted' },
  conns: { pkg: 'flood-conns', env: 'FLOOD_CONNS', count: 5_000, what: 'loopback connections' },
};

const USAGE = `Usage: node scripts/flood.mjs [options]   (or: npm run flood -- [options])

Options:
  --only <list>    floods to run, comma-separated: procs,files,conns (default: all)
  --procs <n>      processes for the procs flood (default ${FLOODS.procs.count})
  --files <n>      files for the files flood (default ${FLOODS.files.count})
  --conns <n>      connections for the conns flood (default ${FLOODS.conns.count})
  --rounds <n>     interleaved rounds of no-flood, plain and supervised installs (default 3)
  --events         also write the NDJSON event log in the supervised run
  --no-traced      skip the strace-only run (and the pipeline replay)
  --no-cpu-pinning run guarded-install with --no-cpu-pinning
  --json <file>    write the figures as JSON
  --keep           keep the temp dir
  -h, --help       show this help
`;

export function parseFloodArgs(argv) {
  const opts = { only: Object.keys(FLOODS), counts: Object.fromEntries(Object.entries(FLOODS).map(([k, f]) => [k, f.count])), rounds: 3, events: false, traced: true, pinning: true, json: undefined, keep: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '-h' || arg === '--help') opts.help = true;
    else if (arg === '--only') {
      opts.only = value().split(',').filter(Boolean);
      for (const name of opts.only) if (!(name in FLOODS)) throw new Error(`--only: unknown flood ${name} (expected ${Object.keys(FLOODS).join(', ')})`);
    } else if (arg === '--procs' || arg === '--files' || arg === '--conns') {
      const n = Number(value());
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${arg}: expected a positive integer`);
      opts.counts[arg.slice(2)] = n;
    } else if (arg === '--rounds') {
      const n = Number(value());
      if (!Number.isSafeInteger(n) || n < 1 || n > 100) throw new Error(`${arg}: expected an integer from 1 to 100`);
      opts.rounds = n;
    } else if (arg === '--events') opts.events = true;
    else if (arg === '--no-traced') opts.traced = false;
    else if (arg === '--no-cpu-pinning') opts.pinning = false;
    else if (arg === '--json') opts.json = value();
    else if (arg === '--keep') opts.keep = true;
    else throw new Error(`unknown option ${arg}`);
  }
  return opts;
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return path.join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

// Environment of every command: fresh HOME / TMPDIR / cache, nothing of ours or npm's leaking in.
function floodEnv(dirs, extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GUARDED_INSTALL_') || k.toLowerCase().startsWith('npm_') || k === 'NODE_OPTIONS' || k.startsWith('FLOOD_')) continue;
    env[k] = v;
  }
  return { ...env, HOME: dirs.home, TMPDIR: dirs.tmp, npm_config_cache: dirs.cache, npm_config_update_notifier: 'false', NO_COLOR: '1', ...extra };
}

// Runs a command, timing it; for the supervised run, samples the process's
// peak RSS (VmHWM) and CPU time from /proc until it exits.
function timed(file, args, { cwd, env, sample = false, log }) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let hwmKiB = 0;
    let cpuTicks = 0;
    const take = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm) hwmKiB = Math.max(hwmKiB, Number(hwm[1]));
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        cpuTicks = Number(fields[11]) + Number(fields[12]); // utime + stime
      } catch {
        // exited between samples
      }
    };
    const timer = sample ? setInterval(take, 50) : undefined;
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (timer) clearInterval(timer);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (log) writeFileSync(log, out);
      resolve({ code, signal, seconds, output: out, peakRssMiB: hwmKiB / 1024, cpuSeconds: cpuTicks / 100 });
    });
  });
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function pack(fixture, dest, env) {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], { cwd: path.join(FIXTURES, fixture), env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [info] = JSON.parse(out);
  return info;
}

// What the report counts that the script says it did, per flood.
export function compareCounts(name, result, activity) {
  if (!result || !activity) return { ok: false, detail: 'no script result or no activity in the report' };
  if (name === 'procs') {
    // + the script's shell and `sh flood.sh`
    const seen = activity.processes.count - 2;
    return { ok: seen === result.processes, detail: `${seen} of ${result.processes} processes` };
  }
  if (name === 'files') {
    // + the result file written, the scratch dir removed
    const writes = activity.fileWrites.count - 1;
    const deletes = activity.fileDeletes.count - 1;
    return { ok: writes === result.written && deletes === result.deleted, detail: `${writes} of ${result.written} writes, ${deletes} of ${result.deleted} deletes` };
  }
  return { ok: activity.connections.count === result.attempted && result.failed === 0, detail: `${activity.connections.count} of ${result.attempted} connections` };
}

// The pipeline without a tracee: the recorded trace through parser, assembler,
// detector, tally and ECS serialization, as fast as it goes.
async function replay(tracePath, packageDir, name) {
  const load = (m) => import(pathToFileURL(path.join(REPO_ROOT, 'dist', m)).href);
  const [{ StraceAssembler }, { Detector }, { ActivityTally }, { toEcs }, { buildEvent, UNATTRIBUTED }] = await Promise.all([
    load('tracers/strace/assembler.js'), load('scoring/detector.js'), load('report/activity.js'), load('events/ecs.js'), load('events/build.js'),
  ]);
  const text = readFileSync(tracePath, 'utf8');
  const lines = text.split('\n');
  const detector = new Detector();
  const tally = new ActivityTally();
  let bytes = 0;
  let events = 0;
  const onEvent = (e) => {
    e.event.sequence = ++events;
    detector.onEvent(e);
    tally.add(e);
    bytes += JSON.stringify(toEcs(e)).length + 1;
  };
  onEvent(buildEvent({ kind: 'run-start', ts: Date.now(), process: { pid: process.pid }, run: { home: os.homedir(), temp_dirs: [os.tmpdir()], resolvers: [], project_root: path.dirname(path.dirname(packageDir)), tracer: 'strace', npm_args: ['install'] } }, UNATTRIBUTED));
  const script = { id: 'replay', name, version: '1.0.0', event: 'postinstall', packageJson: path.join(packageDir, 'package.json'), path: packageDir, command: 'replay', shell: '/bin/sh', shimPid: 0, startedAt: Date.now() };
  const asm = new StraceAssembler(script, onEvent);
  const started = process.hrtime.bigint();
  for (const line of lines) asm.pushLine(line);
  asm.finish();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { lines: lines.length, events, seconds, linesPerSec: lines.length / seconds, eventsPerSec: events / seconds, ndjsonMiB: bytes / 2 ** 20 };
}

async function runFlood(name, count, opts, root) {
  const flood = FLOODS[name];
  const base = path.join(root, name);
  const dirs = { home: path.join(base, 'home'), tmp: path.join(base, 'tmp'), cache: path.join(base, 'cache'), project: path.join(base, 'project') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const info = pack(flood.pkg, dirs.project, floodEnv(dirs, {}));
  writeFileSync(path.join(dirs.project, 'package.json'), `${JSON.stringify({ name: `flood-${name}-consumer`, version: '1.0.0', private: true, dependencies: { [info.name]: `file:./${info.filename}` }, allowScripts: { [info.name]: true } }, null, 2)}\n`);
  const reset = () => {
    rmSync(path.join(dirs.project, 'node_modules'), { recursive: true, force: true });
    rmSync(path.join(dirs.project, 'package-lock.json'), { force: true });
  };
  const resultFile = (which) => path.join(base, `${which}-result.json`);
  const env = (which) => floodEnv(dirs, { [flood.env]: String(count), FLOOD_RESULT: resultFile(which) });
  const row = { flood: name, count, what: flood.what };

  const packageDir = path.join(dirs.project, 'node_modules', info.name);
  const report = path.join(base, 'report.json');
  const args = [BIN, 'install', '-q', '--report', report, ...(opts.events ? ['--events', path.join(base, 'events.ndjson')] : []), ...(opts.pinning ? [] : ['--no-cpu-pinning']), '--', ...NPM_ARGS];
  const runs = { empty: [], plain: [], supervised: [] };
  const one = {
    empty: async () => {
      reset();
      const r = await timed('npm', ['install', ...NPM_ARGS], { cwd: dirs.project, env: floodEnv(dirs, { [flood.env]: '0', FLOOD_RESULT: resultFile('empty') }), log: path.join(base, 'empty.log') });
      runs.empty.push({ seconds: r.seconds, exit: r.code });
    },
    plain: async () => {
      reset();
      const r = await timed('npm', ['install', ...NPM_ARGS], { cwd: dirs.project, env: env('plain'), log: path.join(base, 'plain.log') });
      runs.plain.push({ seconds: r.seconds, exit: r.code, result: readJson(resultFile('plain')) });
    },
    supervised: async () => {
      reset();
      rmSync(report, { force: true });
      const sup = await timed(process.execPath, args, { cwd: dirs.project, env: env('supervised'), sample: true, log: path.join(base, 'supervised.log') });
      const rep = readJson(report);
      const script = rep?.packages.find((p) => p.name === info.name)?.scripts.find((s) => s.event === 'postinstall');
      const result = readJson(resultFile('supervised'));
      const run = {
        seconds: sup.seconds,
        exit: sup.code,
        peakRssMiB: sup.peakRssMiB,
        cpuSeconds: sup.cpuSeconds,
        verdict: rep ? `${rep.verdict} (exit ${rep.exitCode}, max score ${rep.maxScore})` : 'NO REPORT',
        verdictArrived: rep !== undefined && rep.exitCode === sup.code,
        events: rep?.events.total,
        scriptSeconds: script?.durationMs == null ? undefined : script.durationMs / 1000,
        afterNpmMs: rep ? rep.durationMs - rep.npm.durationMs : undefined,
        foldedFindings: rep?.packages.find((p) => p.name === info.name)?.foldedFindings,
        result,
        counts: compareCounts(name, result, script?.activity),
      };
      run.eventsPerSec = run.events && run.scriptSeconds ? run.events / run.scriptSeconds : undefined;
      runs.supervised.push(run);
    },
  };
  // interleaved, the order reversed every other round: drift hits all three alike
  const order = ['empty', 'plain', 'supervised'];
  for (let round = 0; round < opts.rounds; round++) {
    for (const which of round % 2 === 0 ? order : [...order].reverse()) {
      process.stderr.write(`flood ${name}: round ${round + 1}/${opts.rounds}: ${which === 'empty' ? 'no flood (count 0)' : which} npm install...\n`);
      await one[which]();
    }
  }
  const secs = (list) => median(list.map((r) => r.seconds));
  row.rounds = opts.rounds;
  row.empty = { seconds: secs(runs.empty), all: runs.empty.map((r) => r.seconds) };
  row.plain = { seconds: secs(runs.plain), all: runs.plain.map((r) => r.seconds), exit: runs.plain.at(-1).exit, result: runs.plain.at(-1).result };
  const last = runs.supervised.at(-1);
  row.supervised = {
    ...last,
    seconds: secs(runs.supervised),
    all: runs.supervised.map((r) => r.seconds),
    peakRssMiB: Math.max(...runs.supervised.map((r) => r.peakRssMiB ?? 0)),
    scriptSeconds: median(runs.supervised.map((r) => r.scriptSeconds ?? Number.NaN)),
    eventsPerSec: median(runs.supervised.map((r) => r.eventsPerSec ?? 0)),
    verdictArrived: runs.supervised.every((r) => r.verdictArrived),
  };
  // every round's counts must match; the first mismatch is the one shown
  row.counts = runs.supervised.map((r) => r.counts).find((c) => !c.ok) ?? last.counts;
  row.ratio = row.supervised.seconds / row.plain.seconds;
  row.floodCost = row.plain.seconds - row.empty.seconds;
  row.supervisionCost = row.supervised.seconds - row.plain.seconds;
  row.goalMet = row.supervisionCost <= row.floodCost;

  const postinstall = readJson(path.join(packageDir, 'package.json')).scripts.postinstall;
  if (opts.traced) {
    process.stderr.write(`flood ${name}: the postinstall alone, plain...\n`);
    const direct = await timed('/bin/sh', ['-c', postinstall], { cwd: packageDir, env: env('direct'), log: path.join(base, 'direct.log') });
    row.direct = { seconds: direct.seconds, exit: direct.code };
    process.stderr.write(`flood ${name}: the postinstall alone under strace, on one CPU...\n`);
    const { straceArgs } = await import(pathToFileURL(path.join(REPO_ROOT, 'dist', 'tracers', 'strace', 'command.js')).href);
    const strace = process.env.GUARDED_INSTALL_STRACE || findOnPath('strace');
    const trace = path.join(base, 'traced.trace');
    // unpinned, tracer and tracee wake each other across CPUs: 4-5x slower here
    const taskset = opts.pinning && os.availableParallelism() > 1 ? findOnPath('taskset') : undefined;
    const [file, traceArgs] = taskset ? [taskset, ['-c', '0', strace]] : [strace, []];
    const traced = await timed(file, [...traceArgs, ...straceArgs(), '-o', trace, '--', '/bin/sh', '-c', postinstall], { cwd: packageDir, env: env('traced'), log: path.join(base, 'traced.log') });
    row.traced = { seconds: traced.seconds, exit: traced.code, pinned: taskset !== undefined };
    process.stderr.write(`flood ${name}: replaying the trace through the pipeline...\n`);
    row.pipeline = await replay(trace, packageDir, info.name);
    if (!opts.keep) rmSync(trace, { force: true });
  }
  // the script's own time: under the supervisor vs under strace alone
  if (row.traced && row.supervised.scriptSeconds) row.ratioTraced = row.supervised.scriptSeconds / row.traced.seconds;
  return row;
}

const f1 = (n) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(1));
const f2 = (n) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(2));

// a run without a figure (no report) is left out
const median = (values) => benchMedian(values.filter((v) => !Number.isNaN(v)));
const int = (n) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));

function print(rows) {
  const out = [];
  out.push(`guarded-install flood figures (node ${process.version}, ${os.cpus().length} cores, ${new Date().toISOString()})`);
  for (const r of rows) {
    const s = r.supervised;
    out.push('');
    out.push(`${r.flood}: ${int(r.count)} ${r.what}`);
    const all = (list) => list.map(f2).join(', ');
    out.push(`  install     medians of ${r.rounds}: no flood ${f2(r.empty.seconds)} s | plain ${f2(r.plain.seconds)} s | supervised ${f2(s.seconds)} s | supervised/plain ${r.ratio.toFixed(2)}`);
    out.push(`              (no flood ${all(r.empty.all)} | plain ${all(r.plain.all)} | supervised ${all(s.all)})`);
    out.push(`  cost        the flood adds ${f2(r.floodCost)} s to the plain install; supervision adds ${f2(r.supervisionCost)} s to it: ${r.goalMet ? 'goal met' : 'GOAL NOT MET'} (supervision <= flood)`);
    if (r.traced) out.push(`  script      alone ${f1(r.direct.seconds)} s | under strace alone${r.traced.pinned ? ' (one CPU)' : ''} ${f1(r.traced.seconds)} s (x${(r.traced.seconds / r.direct.seconds).toFixed(2)}) | under the supervisor ${f1(s.scriptSeconds)} s${r.ratioTraced ? ` (supervised/strace-alone ${r.ratioTraced.toFixed(2)})` : ''}`);
    out.push(`  events      ${int(s.events)} in the report, ${int(s.eventsPerSec)}/s sustained over the script's ${f1(s.scriptSeconds)} s; report written ${int(s.afterNpmMs)} ms after npm exited`);
    if (r.pipeline) out.push(`  pipeline    replay of the strace output: ${int(r.pipeline.lines)} lines, ${int(r.pipeline.events)} events in ${f1(r.pipeline.seconds)} s = ${int(r.pipeline.linesPerSec)} lines/s, ${int(r.pipeline.eventsPerSec)} events/s (${f1(r.pipeline.ndjsonMiB)} MiB of NDJSON)`);
    out.push(`  supervisor  peak RSS ${f1(s.peakRssMiB)} MiB (VmHWM; target <= ${RSS_TARGET_MIB}) | CPU ${f1(s.cpuSeconds)} s`);
    out.push(`  verdict     ${s.verdictArrived ? 'arrived' : 'DID NOT ARRIVE'}: ${s.verdict}${s.foldedFindings ? ` | folded findings ${JSON.stringify(s.foldedFindings)}` : ''}`);
    out.push(`  counts      ${r.counts.ok ? 'match' : 'MISMATCH'}: ${r.counts.detail}`);
  }
  return out.join('\n');
}

async function main() {
  let opts;
  try {
    opts = parseFloodArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`flood: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli.js'))) {
    process.stderr.write('flood: dist/cli.js is missing: run `npm run build` first (npm run flood does)\n');
    return 2;
  }
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'gi-flood-')));
  const rows = [];
  try {
    for (const name of opts.only) rows.push(await runFlood(name, opts.counts[name], opts, root));
  } finally {
    if (!opts.keep) rmSync(root, { recursive: true, force: true });
    else process.stderr.write(`flood: kept ${root}\n`);
  }
  process.stdout.write(`${print(rows)}\n`);
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify(rows, null, 2)}\n`);
  const bad = rows.filter((r) => !r.supervised.verdictArrived || !r.counts.ok || (r.flood === 'files' && r.supervised.peakRssMiB > RSS_TARGET_MIB));
  return bad.length > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main();
