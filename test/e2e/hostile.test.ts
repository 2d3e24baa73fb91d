// Hostile scripts (issue 6): lifecycle scripts that try to disable or blind the
// supervision. Each fixture in test/fixtures/hostile/ is packed and installed by
// the built CLI (node bin/guarded-install.js: `npm run build` first) inside a
// private network namespace whose only reachable address besides loopback is
// the C2 stub's 203.0.113.45; HOME and TMPDIR are fresh temp dirs; payloads are
// `true`, `sleep` and a connection to the stub. Each technique must either still
// be seen and scored, or its blinding must itself be a finding that fails the
// build; and no process of the run may be left behind.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/report.js';
import { freshRunDirs, guardedInstallCommand, makeProject, readEvents, removeTempRoot, REPO_ROOT, runEnv, runInNetns, type EcsEvent, type NetnsResult, type RunDirs, type TempProject } from './helpers/netns.js';
import { leftoversUnder } from './helpers/leftovers.js';

const C2 = '203.0.113.45';
const roots: string[] = [];

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
});
afterAll(() => {
  for (const root of roots) removeTempRoot(root);
});

type Finding = Report['packages'][number]['findings'][number];
interface Run {
  p: TempProject;
  dirs: RunDirs;
  result: NetnsResult;
  report: Report;
  events: EcsEvent[];
  pkg: Report['packages'][number] | undefined;
  rules: string[];
  finding: (rule: string) => Finding | undefined;
  orphans: string[];
}

async function install(fixture: string, opts: { prepare?: (dirs: RunDirs) => void; extra?: string[] } = {}): Promise<Run> {
  const p = makeProject(fixture, [`../hostile/${fixture}`]);
  roots.push(p.root);
  const dirs = freshRunDirs(p.root, 'run');
  opts.prepare?.(dirs);
  const eventsPath = join(dirs.base, 'events.ndjson');
  const reportPath = join(dirs.base, 'report.json');
  const result = await runInNetns(`exec ${guardedInstallCommand({ project: p, events: eventsPath, report: reportPath, extra: opts.extra ?? [] })}`, {
    workDir: join(p.root, 'netns'),
    env: runEnv(dirs),
    timeoutMs: 120_000,
  });
  expect(existsSync(reportPath), `no report; stderr:\n${result.stderr.slice(-3000)}`).toBe(true);
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
  const pkg = report.packages.find((x) => x.name === `hostile-${fixture}`);
  const orphans = await leftoversUnder(p.root);
  const run: Run = {
    p,
    dirs,
    result,
    report,
    events: readEvents(eventsPath),
    pkg,
    rules: (pkg?.findings ?? []).map((f) => f.rule),
    finding: (rule) => pkg?.findings.find((f) => f.rule === rule),
    orphans,
  };
  console.log(`[e2e hostile ${fixture}] exit ${result.exitCode ?? result.signal}, score ${pkg?.score}, findings ${(pkg?.findings ?? []).map((f) => `${f.rule}+${f.points}`).join(' ')}, npm exit ${report.npm.exitCode ?? report.npm.signal}, ${result.durationMs} ms`);
  return run;
}

// Every event of the run that names the fixture's package is attributed to it
// (and to its postinstall); nothing is attributed to a name it made up.
function attributed(run: Run, fixture: string): void {
  const mine = run.events.filter((e) => e.npm.script_id !== '' && e.package.name === `hostile-${fixture}`);
  expect(mine.length).toBeGreaterThan(0);
  for (const e of mine) expect([e.package.version, e.npm.lifecycle_event]).toEqual(['1.0.0', 'postinstall']);
  expect(run.report.packages.map((x) => x.name)).toEqual([`hostile-${fixture}`]);
}

describe('hostile scripts under guarded-install (private network namespace)', () => {
  it('unsets and rewrites npm_* and NODE_OPTIONS: attribution comes from the trace tree, the payload is scored and blocked', async () => {
    const run = await install('env-scrub');
    expect(run.result.exitCode).toBe(3);
    attributed(run, 'env-scrub');
    expect(run.rules).toEqual(expect.arrayContaining(['GI-PROC-001', 'GI-NET-001']));
    expect(run.finding('GI-NET-001')?.evidence).toMatchObject({ ip: C2 });
    expect(run.pkg?.blocked).toBe(true);
    expect(run.orphans).toEqual([]);
  });

  it('execs through env -i: still attributed, scored and blocked', async () => {
    const run = await install('env-i');
    expect(run.result.exitCode).toBe(3);
    attributed(run, 'env-i');
    expect(run.rules).toEqual(expect.arrayContaining(['GI-PROC-001', 'GI-NET-001']));
    const node = run.events.find((e) => e.event.action === 'process-start' && e.process.name === 'node' && e.package.name === 'hostile-env-i');
    expect(node?.process.args).toEqual([expect.stringMatching(/\/node$/), 'payload.js']);
    expect(run.orphans).toEqual([]);
  });

  it('double-forks a setsid sleep: detach + outlived, blocked (second stage), the sleep is ended', async () => {
    const run = await install('setsid-fork');
    expect(run.result.exitCode).toBe(3);
    expect(run.rules).toEqual(expect.arrayContaining(['GI-PROC-007', 'GI-LIVE-001']));
    expect(run.pkg?.composite?.id).toBe('GI-COMBO-006');
    const sleep30 = run.events.find((e) => e.event.action === 'process-start' && JSON.stringify(e.process.args) === '["sleep","30"]');
    expect(sleep30).toBeDefined();
    expect(run.report.outlived.find((o) => o.pid === sleep30?.process.pid)?.killed ?? (run.report.response ?? []).some((x) => x.pids.includes(sleep30?.process.pid ?? -1))).toBe(true);
    expect(run.orphans).toEqual([]);
  });

  it('renames itself (prctl PR_SET_NAME) and runs curl as "[kthreadd]" (exec -a): the executable comes from execve, scored and blocked', async () => {
    const run = await install('exec-a');
    expect(run.result.exitCode).toBe(3);
    const curl = run.finding('GI-PROC-002');
    expect(curl?.evidence).toMatchObject({ executable: expect.stringMatching(/\/curl$/), args: expect.arrayContaining(['[kthreadd]']) });
    expect((curl?.evidence.args as string[])[0]).toBe('[kthreadd]');
    expect(run.rules).toEqual(expect.arrayContaining(['GI-PROC-001', 'GI-NET-001']));
    expect(run.finding('GI-NET-001')?.evidence).toMatchObject({ executable: expect.stringMatching(/\/curl$/), ip: C2 });
    expect(run.orphans).toEqual([]);
  });

  it('SIGKILLs its own tracer: the loss of sight fails the build (GI-VIS-001) with the kill() as evidence (GI-EVADE-001)', async () => {
    const run = await install('kill-tracer');
    expect(run.result.exitCode).toBe(3);
    expect(run.pkg?.blocked).toBe(true);
    const lost = run.finding('GI-VIS-001');
    expect(lost?.points).toBe(90);
    expect(lost?.evidence.call).toMatch(/^kill\(\d+, SIGKILL$/);
    expect(run.finding('GI-EVADE-001')?.evidence).toMatchObject({ target_role: 'tracer', signal: 'SIGKILL', target_pid: lost?.evidence.tracer_pid });
    // blinded, the script is also crippled: the tracer's seccomp filter outlives
    // it and every traced call (exec, connect, open...) now fails
    expect(run.result.connections).toEqual([]);
    expect(run.orphans).toEqual([]);
  });

  it('SIGSTOPs its own tracer: not frozen forever; GI-VIS-002 + GI-EVADE-001, blocked', async () => {
    const run = await install('stop-tracer');
    expect(run.result.exitCode).toBe(3);
    expect(run.result.durationMs).toBeLessThan(60_000);
    expect(run.rules).toEqual(expect.arrayContaining(['GI-VIS-002', 'GI-EVADE-001']));
    expect(run.finding('GI-EVADE-001')?.evidence).toMatchObject({ target_role: 'tracer', signal: 'SIGSTOP' });
    expect(run.orphans).toEqual([]);
  });

  it("appends a forged end to its own trace in guarded-install's run directory: GI-EVADE-004, blocked", async () => {
    const run = await install('trace-tamper');
    expect(run.result.exitCode).toBe(3);
    expect(run.finding('GI-EVADE-004')?.evidence).toMatchObject({ path: expect.stringMatching(/\/guarded-install-[^/]+\/[^/]+\.trace$/) });
    expect(run.orphans).toEqual([]);
  });

  it('tests for a tracer with ptrace(PTRACE_TRACEME) and behaves: the test itself fails the build (GI-EVADE-002)', async () => {
    const run = await install('ptrace-check');
    expect(run.result.exitCode).toBe(3);
    expect(run.finding('GI-EVADE-002')?.evidence).toMatchObject({ call: 'ptrace(PTRACE_TRACEME) = -1 EPERM', executable: expect.stringMatching(/python3/) });
    expect(run.result.connections).toEqual([]); // it behaved
    expect(run.orphans).toEqual([]);
  });

  it('reads its TracerPid from /proc/self/status and behaves: seen and scored (GI-EVADE-003, 25), not blocked on that alone', async () => {
    const run = await install('tracerpid-check');
    expect(run.result.exitCode).toBe(0);
    expect(run.finding('GI-EVADE-003')?.evidence).toMatchObject({ executable: expect.stringMatching(/\/node$/), path: expect.stringMatching(/^\/proc\/\d+\/status$/) });
    expect(run.pkg?.score).toBe(25);
    expect(run.result.connections).toEqual([]);
    expect(run.orphans).toEqual([]);
  });

  it('writes into ~/.profile through a symlink and ~/.bashrc through a hard link, reads ~/.npmrc through a hard link: seen on the real files, blocked', async () => {
    const run = await install('link-write', { prepare: (d) => writeFileSync(join(d.home, '.bashrc'), '# e2e home\n') });
    expect(run.result.exitCode).toBe(3);
    const persisted = (run.pkg?.findings ?? []).filter((f) => f.rule === 'GI-PERSIST-001').map((f) => f.evidence.path);
    expect(persisted).toEqual(expect.arrayContaining([join(run.dirs.home, '.profile'), join(run.dirs.home, '.bashrc')]));
    expect(run.finding('GI-CRED-001')?.evidence.path).toBe(run.dirs.npmrc);
    expect(run.orphans).toEqual([]);
  });

  it('drops an autostart entry with O_TMPFILE + linkat and swaps package.json with renameat2(RENAME_EXCHANGE): seen, blocked', async () => {
    const run = await install('tmpfile-rename');
    expect(run.result.exitCode).toBe(3);
    const autostart = join(run.dirs.home, '.config', 'autostart');
    const persisted = (run.pkg?.findings ?? []).filter((f) => f.rule === 'GI-PERSIST-001').map((f) => String(f.evidence.path));
    expect(persisted.some((p) => p.startsWith(`${autostart}/`))).toBe(true);
    const link = run.events.find((e) => e.event.action === 'file-link' && e.file?.path === join(autostart, 'e2e-fixture.desktop'));
    expect(link).toBeDefined();
    expect(run.finding('GI-CHURN-002')?.evidence).toMatchObject({ path: expect.stringMatching(/\/hostile-tmpfile-rename\/package\.json$/), from: expect.stringMatching(/\/decoy\.json$/) });
    expect(run.orphans).toEqual([]);
  });

  it('opens /dev/tcp from bash: a connection by the shell itself, seen and scored (GI-NET-005)', async () => {
    const run = await install('dev-tcp');
    expect(run.result.connections).toHaveLength(1);
    expect(run.finding('GI-NET-005')?.evidence).toMatchObject({ executable: expect.stringMatching(/\/bash$/), ip: C2, port: 4444 });
    // egress alone is capped below the threshold: scored, not blocked
    expect(run.pkg?.score).toBe(40);
    expect(run.result.exitCode).toBe(0);
    expect(run.orphans).toEqual([]);
  });

  it('sends SIGTERM to npm: GI-EVADE-001 names npm, blocked (exit 3)', async () => {
    const run = await install('signal-npm');
    expect(run.result.exitCode).toBe(3);
    expect(run.finding('GI-EVADE-001')?.evidence).toMatchObject({ target_role: 'npm', signal: 'SIGTERM' });
    expect(run.orphans).toEqual([]);
  });

  it('sends SIGINT to guarded-install: it stops as on any SIGINT (exit 130), and the report blames the package (GI-EVADE-001)', async () => {
    const run = await install('signal-supervisor');
    expect(run.result.signal ?? `code ${run.result.exitCode}`).toBe('SIGINT');
    expect(run.report.exitCode).toBe(130);
    expect(run.report.timeline.filter((t) => t.type === 'signal').map((t) => t.detail)).toEqual(['SIGINT']);
    expect(run.finding('GI-EVADE-001')?.evidence).toMatchObject({ target_role: 'guarded-install', signal: 'SIGINT' });
    expect(run.report.verdict).toBe('fail');
    expect(run.orphans).toEqual([]);
  });
});
