// The composite action end to end: its run steps executed with bash exactly as
// a runner would (test/action/composite.ts: expressions substituted, a fresh
// GITHUB_OUTPUT / GITHUB_STEP_SUMMARY per step, GITHUB_WORKSPACE and
// RUNNER_TEMP in a temp dir) with the real CLI, each step inside a private
// network namespace with the simulations' C2 stub on 203.0.113.45
// (test/action/sim-netns.ts). Against the axios-plain-crypto attack simulation
// it must block, and its SARIF and ECS event log must validate; against a
// benign prebuilt-downloader it must pass.
//
// Needs: dist/ (npm run build), strace, unshare, ip.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCompositeAction, type ActionResult, type Spawner } from '../action/composite.js';
import { makeRoot, prepareSimProject, removeRoot, runInSimNetns, simEnv, writeLockfile, type SimProject } from '../action/sim-netns.js';
import { validateEcsNdjson } from '../report/ecs.js';
import { validateSarif } from '../report/sarif-schema.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const NPM_ARGS = '--no-audit --no-fund --offline';
const roots: string[] = [];

beforeAll(() => {
  if (!existsSync(join(REPO, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
});
afterAll(() => roots.forEach(removeRoot));

// each step in its own namespace session (C2 stub up for its duration)
const netnsSpawner = (p: SimProject): Spawner => (argv, o) => runInSimNetns(argv, { p, cwd: o.cwd, env: o.env, timeoutMs: 180_000 });

async function runAction(sim: string, inputs: Record<string, string>, lockfile: boolean): Promise<{ p: SimProject; result: ActionResult; workspace: string; runnerTemp: string }> {
  const root = makeRoot(`action-e2e-${sim}`);
  roots.push(root);
  const workspace = join(root, 'ws');
  const p = prepareSimProject(sim, root, join(workspace, 'app'));
  if (lockfile) writeLockfile(p);
  const runnerTemp = join(root, 'runner-temp');
  const result = await runCompositeAction({ actionDir: REPO, inputs: { 'working-directory': 'app', args: NPM_ARGS, ...inputs }, workspace, runnerTemp, env: simEnv(p), spawner: netnsSpawner(p) });
  return { p, result, workspace, runnerTemp };
}

const stepLog = (r: ActionResult): string => r.steps.map((s) => `--- ${s.name} (${s.skipped ? 'skipped' : `exit ${s.code}`})\n${s.stdout}${s.stderr}`).join('\n').slice(-6000);

describe('the composite action against an attack simulation (axios-plain-crypto), npm ci', () => {
  let run: Awaited<ReturnType<typeof runAction>>;
  beforeAll(async () => {
    run = await runAction('axios-plain-crypto', { command: 'ci', events: 'gi-events.ndjson' }, true);
  });

  it('fails the action: the install step exits 3, the steps before it pass, doctor is skipped', () => {
    const { result } = run;
    expect(result.steps.map((s) => [s.name, s.skipped ? 'skipped' : s.code]), stepLog(result)).toEqual([['Ensure strace', 0], ['Prepare guarded-install', 0], ['guarded-install doctor', 'skipped'], ['guarded-install', 3]]);
    expect(result.failed).toBe(true);
    expect(result.steps[0]?.stdout).toMatch(/^guarded-install: using strace/);
  });

  it('sets the outputs', () => {
    const { result, runnerTemp } = run;
    expect(result.outputs).toEqual({
      verdict: 'fail',
      'max-score': expect.stringMatching(/^\d+$/),
      'blocked-packages': 'sim-axios-plain-crypto@1.0.0',
      'report-path': join(runnerTemp, 'guarded-install', 'report.json'),
      'sarif-path': join(runnerTemp, 'guarded-install', 'results.sarif'),
    });
    expect(Number(result.outputs['max-score'])).toBeGreaterThanOrEqual(70);
    const report = JSON.parse(readFileSync(result.outputs['report-path']!, 'utf8')) as { verdict: string; killed: boolean; exitCode: number };
    expect(report).toMatchObject({ verdict: 'fail', killed: true, exitCode: 3 });
  });

  it('writes the job summary: verdict, package table, process tree, findings with MITRE ids', () => {
    const { summary } = run.result;
    console.log(`[e2e action] job summary of the blocked run:\n${summary}`);
    expect(summary.split('\n')[0]).toBe('## 🛡️ guarded-install: ❌ blocked 1 package');
    expect(summary).toContain('**FAIL**: `sim-axios-plain-crypto@1.0.0` scored');
    expect(summary).toMatch(/\| `sim-axios-plain-crypto@1\.0\.0` \| postinstall \| \*\*\d+\*\* \| ❌ blocked \| .*GI-NET-001.* \| `app\/package-lock\.json:\d+` \|/);
    expect(summary).toMatch(/```text\npostinstall: \/bin\/sh -c node setup\.js {2}\[pid \d+, KILLED\]\n└─ node setup\.js {2}\[pid \d+, KILLED\]\n/);
    expect(summary).toContain('→ tcp 203.0.113.45:8443');
    expect(summary).toMatch(/\| GI-NET-001 \| egress \| \+40 \| \[T1071\.001\]\(https:\/\/attack\.mitre\.org\/techniques\/T1071\/001\/\) \| A lifecycle script connected to a public address: `node setup\.js`, pid \d+, to 203\.0\.113\.45:8443 \|/);
  });

  it('annotates the lockfile line of the package with an ::error (on stdout, where the runner reads it)', () => {
    const { result, p } = run;
    const lockLine = readFileSync(join(p.dir, 'package-lock.json'), 'utf8').split('\n').findIndex((l) => l.includes('"node_modules/sim-axios-plain-crypto": {')) + 1;
    expect(lockLine).toBeGreaterThan(0);
    const errors = result.annotations.filter((a) => a.command === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ properties: { title: 'guarded-install: blocked sim-axios-plain-crypto@1.0.0', file: 'app/package-lock.json', line: String(lockLine) } });
    expect(errors[0]?.message).toMatch(/^sim-axios-plain-crypto@1\.0\.0 postinstall scored \d+\/100 \(threshold 70\): blocked, its processes were killed\.\n/);
    expect(errors[0]?.message).toContain('GI-NET-001 [T1071.001]');
    expect(result.steps.at(-1)?.stdout).toContain('::error title=guarded-install%3A blocked sim-axios-plain-crypto@1.0.0,file=app/package-lock.json,line=');
  });

  it('writes SARIF that validates against the SARIF 2.1.0 schema, located at the lockfile entry', () => {
    const { result, p } = run;
    const log = JSON.parse(readFileSync(result.outputs['sarif-path']!, 'utf8')) as { runs: Array<{ results: Array<{ ruleId: string; level: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }> }> }> };
    expect(validateSarif(log)).toEqual([]);
    const results = log.runs[0]!.results;
    expect(results.map((r) => r.ruleId)).toContain('GI-NET-001');
    const lockLine = readFileSync(join(p.dir, 'package-lock.json'), 'utf8').split('\n').findIndex((l) => l.includes('"node_modules/sim-axios-plain-crypto": {')) + 1;
    for (const r of results) {
      expect(r.level).toBe('error');
      expect(r.locations[0]?.physicalLocation).toEqual({ artifactLocation: { uri: 'app/package-lock.json', uriBaseId: '%SRCROOT%' }, region: { startLine: lockLine } });
    }
    console.log(`[e2e action] SARIF: ${results.length} results (${results.map((r) => r.ruleId).join(', ')}), schema-valid`);
  });

  it('writes an ECS event log (events input) that validates against the ECS field definitions', () => {
    const { p } = run;
    const text = readFileSync(join(p.dir, 'gi-events.ndjson'), 'utf8');
    const { lines, errors } = validateEcsNdjson(text);
    expect(errors).toEqual([]);
    expect(lines).toBeGreaterThan(5);
    const actions = new Set(text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { event: { action: string } }).event.action));
    expect([...actions]).toEqual(expect.arrayContaining(['run-start', 'script-start', 'process-start', 'network-connect']));
    console.log(`[e2e action] ECS: ${lines} events, all conformant (${[...actions].join(', ')})`);
  });
});

describe('the composite action against a clean project (benign-prebuilt-downloader), npm install, doctor first', () => {
  let run: Awaited<ReturnType<typeof runAction>>;
  beforeAll(async () => {
    run = await runAction('benign-prebuilt-downloader', { command: 'install', doctor: 'true' }, false);
  });

  it('every step passes, the doctor too', () => {
    const { result } = run;
    expect(result.steps.map((s) => [s.name, s.skipped ? 'skipped' : s.code]), stepLog(result)).toEqual([['Ensure strace', 0], ['Prepare guarded-install', 0], ['guarded-install doctor', 0], ['guarded-install', 0]]);
    expect(result.failed).toBe(false);
    expect(result.steps[2]?.stderr).toContain('healthy: lifecycle scripts are traced, scored and stopped on this machine');
  });

  it('sets the outputs: pass, nothing blocked', () => {
    const { outputs } = run.result;
    expect(outputs).toMatchObject({ verdict: 'pass', 'blocked-packages': '' });
    expect(Number(outputs['max-score'])).toBeLessThan(70);
    expect(validateSarif(JSON.parse(readFileSync(outputs['sarif-path']!, 'utf8')))).toEqual([]);
  });

  it('the summary says pass and lists the package; no ::error annotation', () => {
    const { summary, annotations } = run.result;
    expect(summary.split('\n')[0]).toBe('## 🛡️ guarded-install: ✅ passed');
    expect(summary).toMatch(/\| `sim-benign-prebuilt-downloader@1\.0\.0` \| postinstall \| \d+ \| (✅ ok|⚠️ flagged) \|/);
    expect(annotations.filter((a) => a.command === 'error')).toEqual([]);
  });
});
