// Guarded runs of the attack simulations in examples/simulations/: every
// simulation installed through guarded-install (node bin/guarded-install.js,
// i.e. dist/: run `npm run build` first), inside the runner's private network
// namespace with the local C2 stub. The plain-npm control runs
// (simulations-control.test.ts) prove each attack really happens; here each one
// must be detected, killed before its late step (erasure, persistence,
// exfiltration, the detached second stage), leave evidence, and leave nothing
// running. The benign look-alikes must pass untouched.
//
// Also checked here:
//  - detection latency: the event that crossed the threshold -> the tree dead,
//    p95 <= 100 ms over every attack run (the table is printed); each attack
//    runs E2E_LATENCY_RUNS times in all (default 3) so the p95 is not a max;
//  - `guarded-install analyze <events.ndjson>` re-scores each recorded log to
//    the same verdict, blocked packages, scores and findings as the live run.
//
// E2E_RECORD_EVENT_LOGS=1 copies each run's events.ndjson to
// test/fixtures/event-logs/<name>.ndjson and writes expected.json there (the
// live verdicts and scores) for the fast replay unit test. E2E_KEEP=1 keeps the
// temp dirs. Every run ends every process it tagged (by pid, SIM_RUN_ID).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BIN,
  DECOYS,
  REPO_ROOT,
  SIM_ROOT,
  listSimulations,
  missingTools,
  removeRun,
  runSimulation,
  taggedProcesses,
  type SimulationInfo,
  type SimulationResult,
} from '../../examples/simulations/run.mjs';
import type { AnalyzeReport } from '../../src/analyze.js';
import type { PackageReport, Report } from '../../src/report/report.js';
import { LATE_STEPS, brief, canStrace, canUnshare, ofPackage, packageOf, pkgId, readEvents, scriptFiles, sha256, type Ev, type Live } from './helpers/simulation-checks.js';

// Detection needs the primary tracer; the runs pass --require-tracer strace so
// an untraced run fails loudly instead of "passing".
const NETNS = canUnshare();
const STRACE = canStrace();
const KEEP = Boolean(process.env.E2E_KEEP);
const RECORD = Boolean(process.env.E2E_RECORD_EVENT_LOGS);
const FIXTURE_DIR = join(REPO_ROOT, 'test', 'fixtures', 'event-logs');
const FIXTURE_MAX_BYTES = 200 * 1024;
const LATENCY_P95_MAX_MS = 100;
const LATENCY_RUNS = Math.max(1, Number(process.env.E2E_LATENCY_RUNS ?? 3) || 3);

const ATTACKS = listSimulations().filter((s) => s.kind === 'attack');
const BENIGN = listSimulations().filter((s) => s.kind === 'benign');
const skip = (sim: SimulationInfo): boolean => !NETNS || !STRACE || missingTools(sim).length > 0;

// ── one guarded run, kept for the latency table and the analyze checks ──────
const live = new Map<string, Live>();
const allRuns: SimulationResult[] = [];
const current: SimulationResult[] = [];

afterEach(() => {
  // whatever an assertion said: no process of a run may be left
  for (const r of current.splice(0)) expect(taggedProcesses(r.tag), `processes of ${r.name} still alive`).toEqual([]);
});

afterAll(() => {
  if (!KEEP) for (const r of allRuns) removeRun(r);
});

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
});

async function guarded(sim: SimulationInfo): Promise<Live> {
  const r = await runSimulation({ name: sim.name, mode: 'guarded', timeoutMs: 180_000, guardedArgs: ['--require-tracer', 'strace'] });
  allRuns.push(r);
  current.push(r);
  expect(r.timedOut, 'the run timed out').toBe(false);
  expect(r.report, `no report: ${r.installStderrTail}`).not.toBeNull();
  expect(r.events, `no event log: ${r.installStderrTail}`).not.toBeNull();
  const run: Live = { sim, r, report: JSON.parse(readFileSync(r.report as string, 'utf8')) as Report, events: readEvents(r.events as string), eventsPath: r.events as string };
  live.set(sim.name, run);
  if (RECORD) recordFixture(run);
  return run;
}

// ── latency table ───────────────────────────────────────────────────────────
interface LatencyRow {
  simulation: string;
  run: number;
  rule: string;
  score: number;
  detectionMs: number;
  // response[].latencyMs; when the report has none, the event-log value (marked)
  latencyMs: number | null;
  // the same measured from the event log: crossing event -> last process-end
  // of the package at or after it (strace's own timestamps)
  fromEvents: number | null;
  reportHadLatency: boolean;
}

function latencyFromEvents(events: Ev[], pkg: string, crossedAt: string): number | null {
  const crossed = Date.parse(crossedAt);
  const ends = events
    .filter((e) => `${e.package.name}@${e.package.version}` === pkg && e.event.action === 'process-end')
    .map((e) => Date.parse(e['@timestamp']))
    .filter((t) => t >= crossed);
  return ends.length === 0 ? null : Math.max(...ends) - crossed;
}

function latencyRows(sim: SimulationInfo, run: number, report: Report, events: Ev[]): LatencyRow[] {
  return report.response.map((x) => {
    const fromEvents = latencyFromEvents(events, x.package, x.crossedAt);
    return { simulation: sim.name, run, rule: x.rule, score: x.score, detectionMs: x.detectionMs, latencyMs: x.latencyMs ?? fromEvents, fromEvents, reportHadLatency: x.latencyMs !== null };
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] as number;
}

function formatTable(rows: LatencyRow[]): string {
  const head = ['simulation', 'run', 'rule that crossed', 'score', 'detectionMs', 'latencyMs', 'fromEvents'];
  const sorted = [...rows].sort((a, b) => ATTACKS.findIndex((s) => s.name === a.simulation) - ATTACKS.findIndex((s) => s.name === b.simulation) || a.run - b.run);
  const ms = (x: number | null): string => (x === null ? '-' : String(x));
  const body = sorted.map((r) => [r.simulation, String(r.run), r.rule, String(r.score), String(r.detectionMs), `${r.reportHadLatency ? '' : '*'}${ms(r.latencyMs)}`, ms(r.fromEvents)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const numeric = new Set([1, 3, 4, 5, 6]);
  const line = (cells: string[]): string => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ');
  const missing = rows.filter((r) => !r.reportHadLatency).length;
  const stats = (values: Array<number | null>): string => {
    const v = values.filter((x): x is number => x !== null);
    return `p50 ${percentile(v, 50)}  p95 ${percentile(v, 95)}  max ${Math.max(...v)}  (n=${v.length})`;
  };
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    `latencyMs:   ${stats(rows.map((r) => r.latencyMs))}  acceptance: p95 <= ${LATENCY_P95_MAX_MS}`,
    `detectionMs: ${stats(rows.map((r) => r.detectionMs))}`,
    ...(missing > 0 ? [`* ${missing} report(s) had latencyMs null (treeDeadAt never set; see Responder.onCross): the event-log value is used`] : []),
  ].join('\n');
}

// ── fixtures for the replay unit test ───────────────────────────────────────
interface ExpectedLog {
  file: string;
  kind: 'attack' | 'benign';
  package: string;
  verdict: 'pass' | 'fail';
  liveExitCode: number | null;
  analyzeExitCode: number;
  threshold: number;
  maxScore: number;
  blockedPackages: string[];
  packages: Record<string, { score: number; blocked: boolean; rules: string[] }>;
  response: Array<{ package: string; rule: string; score: number }>;
}

function recordFixture(l: Live): void {
  mkdirSync(FIXTURE_DIR, { recursive: true });
  const file = `${l.sim.name}.ndjson`;
  copyFileSync(l.eventsPath, join(FIXTURE_DIR, file));
  const path = join(FIXTURE_DIR, 'expected.json');
  const all = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { simulations: Record<string, ExpectedLog> }) : { simulations: {} };
  const rep = l.report;
  all.simulations[l.sim.name] = {
    file,
    kind: l.sim.kind,
    package: pkgId(l.sim),
    verdict: rep.verdict,
    liveExitCode: l.r.exitCode,
    analyzeExitCode: rep.verdict === 'fail' ? 3 : 0,
    threshold: rep.threshold,
    maxScore: rep.maxScore,
    blockedPackages: rep.blockedPackages,
    packages: Object.fromEntries(rep.packages.map((p) => [`${p.name}@${p.version}`, { score: p.score, blocked: p.blocked, rules: p.findings.map((f) => f.rule).sort() }])),
    response: rep.response.map((x) => ({ package: x.package, rule: x.rule, score: x.score })),
  };
  const ordered = Object.fromEntries(listSimulations().filter((s) => all.simulations[s.name]).map((s) => [s.name, all.simulations[s.name]]));
  writeFileSync(path, `${JSON.stringify({
    about: 'Live verdicts of guarded runs of examples/simulations, one events.ndjson per simulation (copied from the run; the run-start event carries the host facts). Re-record: npm run build && E2E_RECORD_EVENT_LOGS=1 npx vitest run --project e2e test/e2e/simulations-guarded.test.ts',
    simulations: ordered,
  }, null, 2)}\n`);
}

// ── the tests ───────────────────────────────────────────────────────────────
describe.skipIf(!NETNS || !STRACE)('attack simulations under guarded-install', () => {
  it('every catalogued attack has a late-step check', () => {
    expect(ATTACKS.map((s) => s.name).sort()).toEqual(Object.keys(LATE_STEPS).sort());
  });

  // skipped when a tool the simulation needs is missing (catalog "needs")
  for (const sim of ATTACKS) it.skipIf(skip(sim))(`${sim.name}: detected, killed before its late step, evidence kept, nothing left running`, async () => {
    const l = await guarded(sim);
    const { r, report } = l;
    const id = pkgId(sim);

    // blocked: exit 3, verdict fail, the simulation named with score >= threshold
    expect(r.exitCode, r.installStderrTail).toBe(3);
    expect(report.verdict).toBe('fail');
    expect(report.exitCode).toBe(3);
    expect(report.tracer).toBe('strace');
    expect(report.killed).toBe(true);
    expect(report.blockedPackages).toContain(id);
    const pkg = packageOf(report, id);
    expect(pkg.blocked).toBe(true);
    expect(pkg.score).toBeGreaterThanOrEqual(report.threshold);
    const response = report.response.find((x) => x.package === id);
    expect(response, JSON.stringify(report.response)).toBeDefined();
    expect(pkg.findings.map((f) => f.rule)).toContain(response?.rule); // the rule that crossed is one of its findings

    // its late step never happened
    LATE_STEPS[sim.name]?.check(l);
    // no decoy secret ever reached the C2
    const sent = r.c2.map((e) => `${e.body ?? ''}${e.data ?? ''}`).join('\n');
    for (const secret of Object.values(DECOYS)) expect(sent).not.toContain(secret);

    // evidence: package.json and the script file(s), byte-identical to what it shipped
    const evidence = join(r.dirs.project, '.guarded-install', 'evidence', id);
    expect(pkg.evidenceDir).toBe(evidence);
    const files = scriptFiles(sim);
    expect(files.length, 'the lifecycle command names no shipped file').toBeGreaterThanOrEqual(1);
    const manifest = JSON.parse(readFileSync(join(evidence, 'manifest.json'), 'utf8')) as { snapshots: Array<{ lifecycle: string; files: Array<{ path: string; bytes: number; sha256: string }> }> };
    for (const hook of sim.lifecycle) {
      for (const f of ['package.json', ...files]) {
        const kept = join(evidence, hook, f);
        expect(existsSync(kept), `${kept} missing`).toBe(true);
        expect(readFileSync(kept).equals(readFileSync(join(SIM_ROOT, sim.name, f))), `${hook}/${f} differs from what the package shipped`).toBe(true);
        const listed = manifest.snapshots.find((s) => s.lifecycle === hook)?.files.find((x) => x.path === join(hook, f));
        expect(listed, `${hook}/${f} not in manifest.json`).toBeDefined();
        expect(listed?.sha256).toBe(sha256(kept));
      }
    }

    // no detached payload ran past the kill; nothing of the run left running
    expect(r.survivorsAtInstallExit, 'processes still running when guarded-install exited').toEqual([]);
    expect(r.killed, 'processes the runner had to end after guarded-install').toEqual([]);
    expect(r.remaining).toEqual([]);
    for (const s of r.stage2AtInstallExit) {
      const state = s.stat ? s.stat.slice(s.stat.lastIndexOf(')') + 2, s.stat.lastIndexOf(')') + 3) : 'gone';
      expect(s.tagged && state !== 'Z' && state !== 'X', `stage-2 pid ${s.pid} alive at install exit: ${s.stat}`).toBe(false);
    }
    for (const o of report.outlived) expect(o.killed, `outlived ${o.pid} ${o.args.join(' ')}`).toBe(true);
    // the tracer saw every process of the package end
    const ended = new Set(ofPackage(l).filter((e) => e.event.action === 'process-end').map((e) => e.process.pid));
    const started = ofPackage(l).filter((e) => e.event.action === 'process-start' || e.event.action === 'process-detach');
    expect(started.filter((e) => !ended.has(e.process.pid)).map(brief), 'processes never seen ending').toEqual([]);
  });

  // One latency sample per simulation is a max, not a p95: each attack runs
  // E2E_LATENCY_RUNS times in all (default 3), the extra runs only for timing
  // (each must still be blocked, and leave nothing running).
  it(`detection latency: p95 <= ${LATENCY_P95_MAX_MS} ms from the crossing event to the tree dead`, async () => {
    const ran = ATTACKS.filter((s) => !skip(s));
    const rows: LatencyRow[] = [];
    const add = (sim: SimulationInfo, run: number, report: Report, events: Ev[]): void => {
      rows.push(...latencyRows(sim, run, report, events));
    };
    for (const sim of ran) {
      const l = live.get(sim.name);
      expect(l, `${sim.name}: no guarded run recorded (its test failed before the run ended)`).toBeDefined();
      if (l) add(sim, 1, l.report, l.events);
    }
    for (let run = 2; run <= LATENCY_RUNS; run++) {
      for (const sim of ran) {
        const r = await runSimulation({ name: sim.name, mode: 'guarded', timeoutMs: 180_000, guardedArgs: ['--require-tracer', 'strace'] });
        allRuns.push(r);
        expect(r.remaining, `${sim.name} run ${run}: processes left`).toEqual([]);
        expect(taggedProcesses(r.tag)).toEqual([]);
        expect(r.exitCode, `${sim.name} run ${run}: ${r.installStderrTail}`).toBe(3);
        const report = JSON.parse(readFileSync(r.report as string, 'utf8')) as Report;
        expect(report.blockedPackages).toContain(pkgId(sim));
        add(sim, run, report, readEvents(r.events as string));
        if (!KEEP) removeRun(r);
      }
    }
    console.log(`\nDetection latency (guarded runs of examples/simulations, ${LATENCY_RUNS} per attack):\n${formatTable(rows)}\n`);
    for (const sim of ran) expect(rows.filter((x) => x.simulation === sim.name).length, `${sim.name}: kills recorded`).toBe(LATENCY_RUNS);
    // the tracer saw every killed tree die; the report's figure never claims
    // an earlier death than the event log shows
    expect(rows.filter((x) => x.fromEvents === null).map((x) => `${x.simulation} run ${x.run}`), 'no process-end after the crossing').toEqual([]);
    for (const x of rows) if (x.reportHadLatency) expect(x.latencyMs as number, `${x.simulation} run ${x.run}`).toBeLessThanOrEqual((x.fromEvents as number) + 1);
    const lat = rows.map((x) => x.latencyMs as number);
    expect(percentile(lat, 95)).toBeLessThanOrEqual(LATENCY_P95_MAX_MS);
  });
});

describe.skipIf(!NETNS || !STRACE)('benign look-alikes under guarded-install', () => {
  for (const sim of BENIGN) it.skipIf(skip(sim))(`${sim.name}: passes, every package below the threshold`, async () => {
    const { r, report } = await guarded(sim);
    expect(r.exitCode, r.installStderrTail).toBe(0);
    expect(report.verdict).toBe('pass');
    expect(report.exitCode).toBe(0);
    expect(report.killed).toBe(false);
    expect(report.blockedPackages).toEqual([]);
    expect(report.response).toEqual([]);
    for (const p of report.packages) expect(p.score, `${p.name}@${p.version}`).toBeLessThan(report.threshold);
    expect(packageOf(report, pkgId(sim)).blocked).toBe(false);
    expect(existsSync(join(r.dirs.project, '.guarded-install', 'evidence'))).toBe(false);
    // ... and it did its job
    const files = r.listings.package?.map((e) => e.path) ?? [];
    if (sim.name === 'benign-prebuilt-downloader') expect(files).toContain('vendor/tool.tar');
    if (sim.name === 'benign-native-build') expect(files).toContain('build/hello');
    expect(r.survivorsAtInstallExit).toEqual([]);
    expect(r.killed).toEqual([]);
  });
});

describe.skipIf(!NETNS || !STRACE)('analyze reproduces the live verdicts', () => {
  const verdictOf = (rep: { verdict: string; blockedPackages: string[]; packages: PackageReport[] }) => ({
    verdict: rep.verdict,
    blockedPackages: [...rep.blockedPackages].sort(),
    scores: Object.fromEntries(rep.packages.map((p) => [`${p.name}@${p.version}`, p.score])),
    findings: Object.fromEntries(rep.packages.map((p) => [`${p.name}@${p.version}`, p.findings.map((f) => f.rule).sort()])),
  });

  for (const sim of listSimulations()) it.skipIf(skip(sim))(`${sim.name}: analyze <events.ndjson> --json gives the live verdict, blocked packages and scores`, () => {
    const l = live.get(sim.name);
    expect(l, `${sim.name}: no guarded run recorded (its test failed before the run ended)`).toBeDefined();
    if (!l) return;
    const out = spawnSync(process.execPath, [BIN, 'analyze', l.eventsPath, '--json', '-C', l.r.dirs.project], { encoding: 'utf8', timeout: 60_000 });
    expect(out.status, out.stderr).toBe(l.report.verdict === 'fail' ? 3 : 0);
    const replayed = JSON.parse(out.stdout) as AnalyzeReport;
    expect(replayed.threshold).toBe(l.report.threshold);
    expect(replayed.events.skipped).toBe(0);
    expect(verdictOf(replayed)).toEqual(verdictOf(l.report));
  });
});

// The fixtures the replay unit test reads (recorded with E2E_RECORD_EVENT_LOGS=1).
describe('recorded event logs (test/fixtures/event-logs)', () => {
  it('one per catalogued simulation, each < 200 KB, each in expected.json with its live verdict', () => {
    const expected = JSON.parse(readFileSync(join(FIXTURE_DIR, 'expected.json'), 'utf8')) as { simulations: Record<string, ExpectedLog> };
    for (const sim of listSimulations()) {
      const file = join(FIXTURE_DIR, `${sim.name}.ndjson`);
      expect(existsSync(file), `${file} missing: record with E2E_RECORD_EVENT_LOGS=1`).toBe(true);
      expect(statSync(file).size, file).toBeLessThan(FIXTURE_MAX_BYTES);
      const first = JSON.parse(readFileSync(file, 'utf8').split('\n')[0] as string) as Ev;
      expect(first.event.action, 'the log starts with its host facts').toBe('run-start');
      const e = expected.simulations[sim.name];
      expect(e?.file).toBe(`${sim.name}.ndjson`);
      expect(e?.verdict).toBe(sim.kind === 'attack' ? 'fail' : 'pass');
      if (sim.kind === 'attack') expect(e?.blockedPackages).toContain(pkgId(sim));
    }
  });
});
