#!/usr/bin/env node
// Detection rate of attack simulations over repeated guarded runs, per tracer:
//   node scripts/detection-rate.mjs [--tracer strace|proc] [--runs N] [--json] [sim ...]
// (default: --tracer proc --runs 20 axios-plain-crypto reverse-shell shai-hulud).
// Each run is a fresh `examples/simulations/run.mjs` guarded install inside a
// private network namespace with the local C2 stub. "Detected" = exit 3 with
// the simulation's package blocked. Needs dist/ (npm run build).
import { readFileSync } from 'node:fs';
import { listSimulations, removeRun, runSimulation } from '../examples/simulations/run.mjs';

const USAGE = 'usage: node scripts/detection-rate.mjs [--tracer strace|proc] [--runs N] [--json] [simulation ...]';

function parseArgs(argv) {
  const opts = { tracer: 'proc', runs: 20, json: false, sims: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--tracer') opts.tracer = argv[++i];
    else if (a === '--runs') opts.runs = Number(argv[++i]);
    else if (a === '--json') opts.json = true;
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else opts.sims.push(a);
  }
  if (!['strace', 'proc'].includes(opts.tracer)) throw new Error(`--tracer: expected strace or proc, got ${opts.tracer}`);
  if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new Error(`--runs: expected a positive integer, got ${opts.runs}`);
  if (opts.sims.length === 0) opts.sims = ['axios-plain-crypto', 'reverse-shell', 'shai-hulud'];
  const known = new Map(listSimulations().map((s) => [s.name, s]));
  for (const name of opts.sims) if (!known.has(name)) throw new Error(`unknown simulation ${name} (known: ${[...known.keys()].join(', ')})`);
  return { ...opts, infos: opts.sims.map((n) => known.get(n)) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
};

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }
  const results = [];
  for (const sim of opts.infos) {
    const row = { simulation: sim.name, tracer: opts.tracer, runs: 0, detected: 0, scores: [], detectionMs: [], leftRunning: 0, failures: [] };
    for (let run = 1; run <= opts.runs; run++) {
      const r = await runSimulation({ name: sim.name, mode: 'guarded', timeoutMs: 180_000, guardedArgs: ['--require-tracer', opts.tracer] });
      row.runs++;
      let report;
      try {
        report = JSON.parse(readFileSync(r.report, 'utf8'));
      } catch {
        report = undefined;
      }
      const id = `${sim.package}@1.0.0`;
      const blocked = r.exitCode === 3 && report?.blockedPackages?.includes(id);
      if (blocked) row.detected++;
      else row.failures.push(`run ${run}: exit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}`);
      const pkg = report?.packages?.find((p) => `${p.name}@${p.version}` === id);
      if (pkg) row.scores.push(pkg.score);
      const response = report?.response?.find((x) => x.package === id);
      if (response) row.detectionMs.push(response.detectionMs);
      row.leftRunning += r.survivorsAtInstallExit.length;
      process.stderr.write(`${sim.name} [${opts.tracer}] run ${run}/${opts.runs}: ${blocked ? 'detected' : 'MISSED'}, score ${pkg?.score ?? '-'}\n`);
      removeRun(r);
    }
    results.push(row);
  }
  if (opts.json) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    console.log(`\nDetection over ${opts.runs} runs each, --tracer ${opts.tracer}:`);
    console.log('simulation            detected   rate     score min/median   detectionMs median   left running');
    for (const r of results) {
      console.log(
        `${r.simulation.padEnd(22)}${`${r.detected}/${r.runs}`.padEnd(11)}${`${((100 * r.detected) / r.runs).toFixed(0)} %`.padEnd(9)}${`${Math.min(...r.scores)}/${median(r.scores)}`.padEnd(19)}${String(median(r.detectionMs)).padEnd(21)}${r.leftRunning}`,
      );
      for (const f of r.failures) console.log(`  ${f}`);
    }
  }
  process.exit(results.every((r) => r.detected === r.runs) ? 0 : 1);
}

await main();
