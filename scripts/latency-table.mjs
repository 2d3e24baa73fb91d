#!/usr/bin/env node
// Detection-latency table for guarded-install over the attack simulations.
//
// Runs every attack simulation of examples/simulations/catalog.json under
// guarded-install N times (round robin: run 1 of every simulation, then run 2,
// ...), each through examples/simulations/run.mjs (private network namespace,
// local C2 stub, temp HOME/TMPDIR; every process of a run is ended by pid
// afterwards), and prints one row per kill from report.json's response[]:
//
//   simulation, run, rule that crossed, score, detectionMs, latencyMs
//
// detectionMs: the event that crossed the threshold -> guarded-install's decision;
// latencyMs:   that event -> the last process of the package's tree dead.
// Then p50 / p95 / max of both. Acceptance: p95 latencyMs <= 100 ms.
//
//   node scripts/latency-table.mjs [--runs N] [--sim NAME]... [--max-p95 MS] [--json] [--keep]
//
//   --runs N       runs per simulation (default 3)
//   --sim NAME     only this simulation (repeatable; default: every attack)
//   --max-p95 MS   exit 1 when p95 latencyMs is above this (default 100)
//   --json         print the rows and the summary as JSON instead of a table
//   --keep         keep each run's temp dir (printed) instead of deleting it
//
// Exit code: 0 when every run was blocked (exit 3, the simulation in
// blockedPackages, its tree seen dead) and p95 <= --max-p95; 1 otherwise;
// 2 on bad usage. Needs a built dist/ (npm run build), strace, unshare, ip.
// Plain ESM, node built-ins only.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { listSimulations, missingTools, removeRun, runSimulation } from '../examples/simulations/run.mjs';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_RUNS = 3;
export const DEFAULT_MAX_P95_MS = 100;

const USAGE = 'usage: node scripts/latency-table.mjs [--runs N] [--sim NAME]... [--max-p95 MS] [--json] [--keep]\n';

/** Nearest-rank percentile (p in 0..100) of a list of numbers. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

export function summarize(values) {
  const v = values.filter((x) => typeof x === 'number');
  return { n: v.length, p50: percentile(v, 50), p95: percentile(v, 95), max: v.length ? Math.max(...v) : null };
}

/** Rows of one guarded run: one per response[] record; a row with a problem when nothing was killed. */
export function rowsOf(sim, run, result, report) {
  const id = `${sim.package}@${result.version}`;
  const problems = [];
  if (result.exitCode !== 3) problems.push(`exit ${result.exitCode}`);
  if (!report) problems.push('no report');
  else if (!report.blockedPackages.includes(id)) problems.push(`${id} not blocked`);
  const records = report?.response ?? [];
  if (records.length === 0) return [{ simulation: sim.name, run, rule: '-', score: null, detectionMs: null, latencyMs: null, problem: [...problems, 'no kill recorded'].join(', ') }];
  return records.map((x) => ({
    simulation: sim.name,
    run,
    rule: x.rule,
    score: x.score,
    detectionMs: x.detectionMs,
    latencyMs: x.latencyMs,
    ...(problems.length || x.latencyMs === null ? { problem: [...problems, ...(x.latencyMs === null ? ['tree never seen dead'] : [])].join(', ') } : {}),
  }));
}

export function formatTable(rows) {
  const head = ['simulation', 'run', 'rule that crossed', 'score', 'detectionMs', 'latencyMs', ''];
  const cell = (x) => (x === null || x === undefined ? '-' : String(x));
  const body = rows.map((r) => [r.simulation, cell(r.run), r.rule, cell(r.score), cell(r.detectionMs), cell(r.latencyMs), r.problem ? `PROBLEM: ${r.problem}` : '']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const numeric = new Set([1, 3, 4, 5]);
  const line = (cells) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const lat = summarize(rows.map((r) => r.latencyMs));
  const det = summarize(rows.map((r) => r.detectionMs));
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    `latencyMs   (n=${lat.n}): p50 ${cell(lat.p50)}  p95 ${cell(lat.p95)}  max ${cell(lat.max)}`,
    `detectionMs (n=${det.n}): p50 ${cell(det.p50)}  p95 ${cell(det.p95)}  max ${cell(det.max)}`,
  ].join('\n');
}

function parseArgs(argv) {
  const o = { runs: DEFAULT_RUNS, sims: [], maxP95: DEFAULT_MAX_P95_MS, json: false, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const int = (name) => {
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${name}: expected a positive integer`);
      i++;
      return Number(v);
    };
    if (a === '--runs') o.runs = int('--runs');
    else if (a === '--max-p95') o.maxP95 = int('--max-p95');
    else if (a === '--sim') {
      if (!v) throw new Error('--sim: expected a simulation name');
      o.sims.push(v);
      i++;
    } else if (a === '--json') o.json = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

async function main(argv) {
  let o;
  try {
    o = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`latency-table: ${error.message}\n${USAGE}`);
    return 2;
  }
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli.js'))) {
    process.stderr.write('latency-table: dist/cli.js is missing: run `npm run build` first\n');
    return 2;
  }
  const attacks = listSimulations().filter((s) => s.kind === 'attack');
  for (const name of o.sims) {
    if (!attacks.some((s) => s.name === name)) {
      process.stderr.write(`latency-table: unknown attack simulation "${name}" (known: ${attacks.map((s) => s.name).join(', ')})\n`);
      return 2;
    }
  }
  const chosen = attacks.filter((s) => o.sims.length === 0 || o.sims.includes(s.name));
  const sims = [];
  for (const sim of chosen) {
    const missing = missingTools(sim);
    if (missing.length > 0) process.stderr.write(`latency-table: skipping ${sim.name}: missing ${missing.join(', ')}\n`);
    else sims.push(sim);
  }

  const rows = [];
  const started = Date.now();
  for (let run = 1; run <= o.runs; run++) {
    for (const sim of sims) {
      process.stderr.write(`latency-table: run ${run}/${o.runs} ${sim.name} ... `);
      const result = await runSimulation({ name: sim.name, mode: 'guarded', timeoutMs: 180_000, guardedArgs: ['--require-tracer', 'strace'] });
      let report = null;
      try {
        report = result.report ? JSON.parse(readFileSync(result.report, 'utf8')) : null;
      } catch {
        report = null;
      }
      const got = rowsOf(sim, run, result, report);
      if (result.remaining.length > 0) for (const r of got) r.problem = [r.problem, `${result.remaining.length} processes left running`].filter(Boolean).join(', ');
      rows.push(...got);
      process.stderr.write(`${got.map((r) => (r.problem ? `PROBLEM: ${r.problem}` : `${r.rule} latency ${r.latencyMs} ms`)).join('; ')}${o.keep ? ` (kept ${result.dirs.root})` : ''}\n`);
      if (!o.keep) removeRun(result);
    }
  }

  const latency = summarize(rows.map((r) => r.latencyMs));
  const detection = summarize(rows.map((r) => r.detectionMs));
  const problems = rows.filter((r) => r.problem);
  const ok = problems.length === 0 && latency.p95 !== null && latency.p95 <= o.maxP95;
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ runs: o.runs, simulations: sims.map((s) => s.name), rows, latencyMs: latency, detectionMs: detection, maxP95: o.maxP95, ok, durationMs: Date.now() - started }, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatTable(rows)}\n`);
    process.stdout.write(`${ok ? 'OK' : 'FAIL'}: p95 latency ${latency.p95 ?? '-'} ms (budget ${o.maxP95} ms), ${problems.length} problem run(s), ${sims.length} simulations x ${o.runs} runs in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  return ok ? 0 : 1;
}

function isMain() {
  try {
    return process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`latency-table: ${error.stack ?? error}\n`);
      process.exitCode = 1;
    },
  );
}
