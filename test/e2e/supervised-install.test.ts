// Acceptance tests: real npm installs of fixture packages under guarded-install,
// each inside a private network namespace (`unshare -rn`) whose only non-loopback
// address is the C2 stub's 203.0.113.45. HOME / TMPDIR / npm cache are fresh temp
// dirs for every run, with a decoy ~/.npmrc. Payloads are harmless (true, sleep).
//
// Needs: a built dist/ (`npm run build`), strace, unshare (user namespaces), ip.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BIN,
  C2_IP,
  C2_PORT,
  NPM_OFFLINE_ARGS,
  REPO_ROOT,
  freshRunDirs,
  guardedInstallCommand,
  makeProject,
  readEvents,
  readReport,
  removeTempRoot,
  resetProject,
  resetProjectShell,
  restrictedBinDir,
  runEnv,
  runEnvPrefix,
  runInNetns,
  sh,
  shJoin,
  startInNetns,
  type EcsEvent,
  type ReportJson,
  type TempProject,
} from './helpers/netns.js';
import { descendants, isAlive, listProcs, procInfo, sleep, waitFor } from './helpers/proc.js';

const PROBE_RUNS = 20;
const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

const roots: string[] = [];
function project(label: string, fixtures: string[]): TempProject {
  const p = makeProject(label, fixtures);
  roots.push(p.root);
  return p;
}

function depVersion(p: TempProject, name: string): string {
  const dep = p.deps.find((d) => d.name === name);
  if (!dep) throw new Error(`${name} is not a dependency of ${p.dir}`);
  return dep.version;
}

const argsOf = (e: EcsEvent): string => JSON.stringify(e.process.args ?? []);
const describeEvents = (events: EcsEvent[]): string =>
  events.map((e) => `  ${e.event.action} pid=${e.process.pid} ppid=${e.process.parent?.pid ?? '-'} ${argsOf(e)} ${e.file?.path ?? ''}${e.destination ? ` ${e.destination.address}:${e.destination.port ?? ''}` : ''}`).join('\n');

beforeAll(() => {
  if (!existsSync(join(REPO_ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
});

afterAll(() => {
  for (const root of roots) removeTempRoot(root);
});

describe('guarded-install supervising real npm installs (private network namespace)', () => {
  // 3a
  it(`attributes every action of probe-dep's postinstall, in ${PROBE_RUNS} of ${PROBE_RUNS} fresh installs (audit mode)`, async () => {
    const p = project('probe', ['probe-dep']);
    const version = depVersion(p, 'probe-dep');
    const installed = join(p.dir, 'node_modules', 'probe-dep');
    const written = join(installed, 'probe-written.txt');

    const runs = Array.from({ length: PROBE_RUNS }, (_, i) => {
      const dirs = freshRunDirs(p.root, `run-${i + 1}`);
      return { n: i + 1, dirs, events: join(dirs.base, 'events.ndjson'), report: join(dirs.base, 'report.json'), log: join(dirs.base, 'output.log') };
    });
    // one namespace session, a fresh node_modules / HOME / TMPDIR / cache per run
    const script = runs.map((r) => [
      resetProjectShell(p),
      `${runEnvPrefix(r.dirs)} ${guardedInstallCommand({ project: p, events: r.events, report: r.report, extra: ['--no-kill'] })} >${sh(r.log)} 2>&1`,
      `echo "run ${r.n} exit $?"`,
    ].join('\n')).join('\n');
    const session = await runInNetns(script, { workDir: join(p.root, 'netns'), env: runEnv(freshRunDirs(p.root, 'session')), timeoutMs: 280_000 });
    expect(session.stderr).toBe('');
    expect(session.connections).toHaveLength(PROBE_RUNS); // the stub saw every probe connect

    const problems: string[] = [];
    let sawTrue = 0;
    for (const r of runs) {
      const fail = (what: string, events: EcsEvent[] = []): void => {
        problems.push(`run ${r.n}: ${what}${events.length ? `\n${describeEvents(events)}` : ''}`);
      };
      const exit = new RegExp(`^run ${r.n} exit (\\d+)$`, 'm').exec(session.stdout)?.[1];
      if (!existsSync(r.events) || !existsSync(r.report)) {
        fail(`no events file or report (exit ${exit ?? '(no exit line)'})`);
        continue;
      }
      // audit mode: the probe runs to its end whatever the detector thinks of it;
      // the exit code follows the verdict, npm itself succeeds
      const rep = readReport(r.report);
      if (exit !== String(rep.verdict === 'fail' ? 3 : 0)) fail(`guarded-install exited ${exit ?? '(no exit line)'} with verdict ${rep.verdict}`);
      if (rep.npm.exitCode !== 0) fail(`npm exited ${rep.npm.exitCode}`);
      if (rep.tracer !== 'strace') fail(`tracer ${rep.tracer}`);
      const all = readEvents(r.events);
      const ev = all.filter((e) => e.package.name === 'probe-dep');
      const of = (action: string): EcsEvent[] => ev.filter((e) => e.event.action === action);

      const starts = of('script-start');
      const scriptStart = starts[0];
      if (starts.length !== 1 || !scriptStart) {
        fail(`expected one probe-dep script-start, got ${starts.length}`, all);
        continue;
      }
      const rootPid = scriptStart.process.pid;
      const scriptId = scriptStart.npm.script_id;
      for (const e of ev) {
        if (e.package.version !== version || e.npm.lifecycle_event !== 'postinstall' || e.npm.script_id !== scriptId) {
          fail(`mis-attributed event: ${e.event.action} ${e.package.name}@${e.package.version} ${e.npm.lifecycle_event} script ${e.npm.script_id}`);
        }
      }
      const scriptEnd = of('script-end')[0];
      if (scriptEnd?.process.exit_code !== 0) fail(`script-end exit_code ${scriptEnd?.process.exit_code}`);

      const started = (args: string[]): EcsEvent | undefined => of('process-start').find((e) => argsOf(e) === JSON.stringify(args));
      const shC = started(['sh', '-c', 'node probe.js && echo probe-dep: done']);
      const node = started(['node', 'probe.js']);
      const trueStart = started(['true']);
      if (!shC) fail('no process-start for `sh -c node probe.js ...`', ev);
      if (!node) fail('no process-start for `node probe.js`', ev);
      if (!shC || !node) continue;

      // the node process links to the script root through the sh -c process
      const nodeAncestry = node.npm.ancestry;
      if (node.process.parent?.pid !== shC.process.pid) fail(`node's parent is ${node.process.parent?.pid}, sh -c is ${shC.process.pid}`);
      if (nodeAncestry[0] !== shC.process.pid || nodeAncestry.at(-1) !== rootPid) fail(`node ancestry ${JSON.stringify(nodeAncestry)} does not run from sh -c ${shC.process.pid} to root ${rootPid}`);
      if (JSON.stringify(shC.npm.ancestry) !== JSON.stringify(nodeAncestry.slice(1))) fail(`sh -c ancestry ${JSON.stringify(shC.npm.ancestry)} vs node's ${JSON.stringify(nodeAncestry)}`);
      if (shC.npm.ancestry.at(-1) !== rootPid && shC.process.pid !== rootPid) fail('sh -c is not linked to the script root');
      const byNode = (e: EcsEvent | undefined, what: string): void => {
        if (!e) return fail(`no ${what}`, ev);
        if (e.process.pid !== node.process.pid || e.process.parent?.pid !== shC.process.pid || JSON.stringify(e.npm.ancestry) !== JSON.stringify(nodeAncestry)) {
          fail(`${what} not attributed to the node process ${node.process.pid}`, [e]);
        }
      };

      // the ~5 ms `true`: start AND end, child of node
      const trueEnd = trueStart ? of('process-end').find((e) => e.process.pid === trueStart.process.pid) : undefined;
      if (!trueStart) fail('no process-start for `true`', ev);
      else if (!trueEnd) fail(`no process-end for \`true\` (pid ${trueStart.process.pid})`, ev);
      else if (trueEnd.process.exit_code !== 0) fail(`\`true\` exit_code ${trueEnd.process.exit_code}`);
      else if (trueStart.process.parent?.pid !== node.process.pid || JSON.stringify(trueStart.npm.ancestry) !== JSON.stringify([node.process.pid, ...nodeAncestry])) {
        fail('`true` is not linked to the node process', [trueStart]);
      } else sawTrue++;

      byNode(of('network-connect').find((e) => e.destination?.ip === C2_IP && e.destination.port === C2_PORT && e.network?.transport === 'tcp'), `tcp network-connect to ${C2_IP}:${C2_PORT}`);
      byNode(of('file-write').find((e) => e.file?.path === written), `file-write of ${written}`);
      byNode(of('file-delete').find((e) => e.file?.path === written), `file-delete of ${written}`);
      byNode(of('sensitive-read').find((e) => e.file?.path === r.dirs.npmrc), `sensitive-read of ${r.dirs.npmrc}`);
      if (ev.some((e) => e.destination?.ip !== undefined && e.destination.ip !== C2_IP)) fail('connection to an address other than the stub', ev);
    }
    console.log(`[e2e 3a] runs in which the short-lived \`true\` (start + end) was seen: ${sawTrue}/${PROBE_RUNS}; namespace session ${session.durationMs} ms`);
    expect(problems).toEqual([]);
    expect(sawTrue).toBe(PROBE_RUNS);
  });

  // 3b
  it("exits with npm's own exit code when a dependency's postinstall fails (exit 7)", async () => {
    const p = project('exit', ['exit-dep']);
    const npmLine = shJoin(['npm', 'install', ...NPM_OFFLINE_ARGS]);
    const plainDirs = freshRunDirs(p.root, 'plain');
    const plain = await runInNetns(`cd ${sh(p.dir)} && exec ${npmLine}`, { workDir: join(p.root, 'netns-plain'), env: runEnv(plainDirs) });

    resetProject(p);
    const dirs = freshRunDirs(p.root, 'guarded');
    const events = join(dirs.base, 'events.ndjson');
    const report = join(dirs.base, 'report.json');
    const guarded = await runInNetns(`exec ${guardedInstallCommand({ project: p, events, report })}`, { workDir: join(p.root, 'netns-guarded'), env: runEnv(dirs) });

    expect(plain.signal).toBeNull();
    expect(plain.exitCode).not.toBe(0);
    console.log(`[e2e 3b] plain npm install exited ${plain.exitCode}, guarded-install exited ${guarded.exitCode}`);
    expect(guarded.signal).toBeNull();
    expect(guarded.exitCode).toBe(plain.exitCode);

    const r = readReport(report);
    expect(r.exitCode).toBe(plain.exitCode);
    expect(r.npm.exitCode).toBe(plain.exitCode);
    expect(r.npm.signal).toBeNull();
    const pkg = r.packages.find((x) => x.name === 'exit-dep');
    expect(pkg?.version).toBe(depVersion(p, 'exit-dep'));
    expect(pkg?.scripts.map((s) => [s.event, s.exitCode])).toEqual([['postinstall', 7]]);
    const end = readEvents(events).filter((e) => e.event.action === 'script-end' && e.package.name === 'exit-dep');
    expect(end.map((e) => [e.npm.lifecycle_event, e.process.exit_code])).toEqual([['postinstall', 7]]);
  });

  // 3c
  const killedBySignalRun: { signal?: string; killed: number[]; events: EcsEvent[] } = { killed: [], events: [] };
  it.each(['SIGTERM', 'SIGINT'] as const)('on %s: dies by that signal within 15 s and leaves no process of the run behind', async (signal) => {
    const p = project(`signal-${signal}`, ['sleeper-dep']);
    const dirs = freshRunDirs(p.root, 'run');
    const events = join(dirs.base, 'events.ndjson');
    const report = join(dirs.base, 'report.json');
    const session = startInNetns(`exec ${guardedInstallCommand({ project: p, events, report })}`, { workDir: join(p.root, 'netns'), env: runEnv(dirs), timeoutMs: 120_000 });
    const gi = session.pid; // the namespace script and the command line both exec: this is guarded-install

    // wait for the postinstall's two sleeps (foreground and background) to run
    const sleeps = await waitFor('the two `sleep 30` of the postinstall', () => {
      const found = descendants(gi).filter((x) => x.comm === 'sleep' && x.args.join(' ') === 'sleep 30');
      return found.length === 2 ? found : undefined;
    }, 60_000);
    expect(procInfo(gi)?.args).toContain(BIN);
    // every process of the run: guarded-install's descendants (minus the test's C2 stub)
    const tree = descendants(gi).filter((x) => !x.args.some((a) => a.includes('c2-stub')));
    expect(tree.length).toBeGreaterThanOrEqual(4); // npm, the script's sh, two sleeps
    await sleep(300);

    const sentAt = Date.now();
    process.kill(gi, signal);
    const result = await session.done;
    const elapsed = Date.now() - sentAt;
    console.log(`[e2e 3c] ${signal}: guarded-install ended ${elapsed} ms after the signal (signal ${result.signal}, code ${result.exitCode})`);

    expect(elapsed).toBeLessThan(15_000);
    expect(result.signal ?? `code ${result.exitCode}`).toBe(signal);
    expect(result.stderr).toContain('guarded-install:');

    // nothing of the run survives: no process of the tree, no tracer writing into its TMPDIR
    const remaining = (): string[] => [
      ...tree.filter((x) => isAlive(x.pid) && procInfo(x.pid)?.args.join(' ') === x.args.join(' ')),
      ...listProcs().filter((x) => isAlive(x.pid) && x.args.some((a) => a.startsWith(dirs.base))), // strace writing into this run's TMPDIR
    ].map((x) => `${x.pid} ${x.args.join(' ')}`);
    const leftovers = await waitFor("the run's processes to be gone", () => (remaining().length === 0 ? [] : undefined), 3_000).catch(() => remaining());
    expect(leftovers).toEqual([]);
    for (const s of sleeps) expect(isAlive(s.pid), `sleep pid ${s.pid}`).toBe(false);

    const r = readReport(report);
    expect(r.exitCode).toBe(128 + SIGNAL_NUMBERS[signal]);
    expect(r.timeline.filter((t) => t.type === 'signal').map((t) => t.detail)).toEqual([signal]);
    // each sleep is either reported as outlived and killed by guarded-install or traced to its end
    const ev = readEvents(events);
    if (signal === 'SIGTERM') Object.assign(killedBySignalRun, { signal, killed: sleeps.map((s) => s.pid), events: ev });
    for (const s of sleeps) {
      const outlived = r.outlived.find((o) => o.pid === s.pid);
      const ended = ev.some((e) => e.event.action === 'process-end' && e.process.pid === s.pid);
      expect(outlived ? { package: outlived.package, args: outlived.args, killed: outlived.killed } : ended, `sleep ${s.pid}`).toEqual(
        outlived ? { package: `sleeper-dep@${depVersion(p, 'sleeper-dep')}`, args: ['sleep', '30'], killed: true } : true,
      );
    }
  });

  // strace must keep printing `+++ killed by SIGxxx +++` (no `-e signal=none`),
  // or a process that dies by a signal never gets a process-end event.
  it('the sleeps ended by the SIGTERM run get a process-end event naming the signal', () => {
    expect(killedBySignalRun.killed.length, 'the SIGTERM test must have run first').toBe(2);
    for (const pid of killedBySignalRun.killed) {
      const end = killedBySignalRun.events.find((e) => e.event.action === 'process-end' && e.process.pid === pid);
      expect(['SIGTERM', 'SIGKILL'], `process-end of pid ${pid}`).toContain(end?.syscall?.signal);
    }
  });

  // 3d
  describe('without strace on PATH', () => {
    const TOOLS = ['node', 'npm', 'sh', 'env', 'true', 'sleep', 'setsid', 'cat', 'rm', 'mkdir'];

    it('--require-tracer strace: exit 2 with one clear error line, npm not run', async () => {
      const p = project('notracer-required', ['probe-dep']);
      const bin = restrictedBinDir(join(p.root, 'bin'), TOOLS);
      const dirs = freshRunDirs(p.root, 'run');
      const report = join(dirs.base, 'report.json');
      const result = await runInNetns(`PATH=${sh(bin)}; export PATH; exec ${guardedInstallCommand({ project: p, report, extra: ['--require-tracer', 'strace'] })}`, {
        workDir: join(p.root, 'netns'),
        env: runEnv(dirs),
      });
      expect(result.signal).toBeNull();
      expect(result.exitCode).toBe(2);
      const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^guarded-install: error: --require-tracer strace: strace is not installed or not on PATH\b/);
      expect(existsSync(join(p.dir, 'node_modules'))).toBe(false);
      expect(existsSync(report)).toBe(false);
      expect(result.connections).toEqual([]);
    });

    it('without --require-tracer: falls back to the proc tracer, says so, and still sees the script', async () => {
      const p = project('notracer', ['probe-dep']);
      const bin = restrictedBinDir(join(p.root, 'bin'), TOOLS);
      const dirs = freshRunDirs(p.root, 'run');
      const report = join(dirs.base, 'report.json');
      const events = join(dirs.base, 'events.ndjson');
      const result = await runInNetns(`PATH=${sh(bin)}; export PATH; exec ${guardedInstallCommand({ project: p, report, events })}`, {
        workDir: join(p.root, 'netns'),
        env: runEnv(dirs),
      });
      // the probe is the three-signal pattern itself: proc catches it too
      expect(result.exitCode, result.stderr).toBe(3);
      expect(result.stderr).toContain('guarded-install: strace cannot run here (strace is not installed or not on PATH');
      expect(result.stderr).toContain('using the proc tracer instead');

      const r = readReport(report);
      expect(r.tracer).toBe('proc');
      expect(r.tracerStatus.ok).toBe(true);
      expect(r.exitCode).toBe(3);
      expect(r.blockedPackages).toEqual([`probe-dep@${depVersion(p, 'probe-dep')}`]);
      const ev = readEvents(events);
      expect(ev.filter((e) => e.event.action === 'tracer-notice').map((e) => e.run?.tracer)).toEqual(['proc']);
      // poller and Node preload saw the probe's first steps, attributed to it.
      // How far it got before the kill (its write and delete, its ~/.npmrc read)
      // depends on timing: those steps are proven by the audit-mode run below.
      const actions = new Set(ev.filter((e) => e.package.name === 'probe-dep').map((e) => e.event.action));
      for (const a of ['script-start', 'process-start', 'network-connect']) expect(actions.has(a), `${a} in ${[...actions].join(' ')}`).toBe(true);
    });

    it('without strace, in audit mode (--no-kill): the proc tracer sees every step of the probe, to its end', async () => {
      const p = project('notracer-audit', ['probe-dep']);
      const bin = restrictedBinDir(join(p.root, 'bin'), TOOLS);
      const dirs = freshRunDirs(p.root, 'run');
      const report = join(dirs.base, 'report.json');
      const events = join(dirs.base, 'events.ndjson');
      const command = guardedInstallCommand({ project: p, report, events, extra: ['--no-kill'] });
      const result = await runInNetns(`PATH=${sh(bin)}; export PATH; exec ${command}`, {
        workDir: join(p.root, 'netns'),
        env: runEnv(dirs),
      });
      expect(result.exitCode, result.stderr).toBe(3); // the verdict still fails the build
      const r = readReport(report);
      expect(r.tracer).toBe('proc');
      expect(r.npm.exitCode).toBe(0); // nothing was killed: the probe ran to its end

      const written = join(p.dir, 'node_modules', 'probe-dep', 'probe-written.txt');
      const ev = readEvents(events).filter((e) => e.package.name === 'probe-dep');
      const has = (action: string, path?: string): boolean => ev.some((e) => e.event.action === action && (path === undefined || e.file?.path === path));
      const seen = [...new Set(ev.map((e) => e.event.action))].join(' ');
      for (const a of ['script-start', 'process-start', 'network-connect', 'script-end']) expect(has(a), `${a} in ${seen}`).toBe(true);
      expect(has('file-write', written), `file-write of ${written} in ${seen}`).toBe(true);
      expect(has('file-delete', written), `file-delete of ${written} in ${seen}`).toBe(true);
      expect(has('sensitive-read', dirs.npmrc), `sensitive-read of ${dirs.npmrc} in ${seen}`).toBe(true);
    });
  });

  // 3e
  // Run the detach-dep install, find the detached `sleep 30` in the trace, and
  // check the things common to both modes.
  async function detachRun(label: string, extra: string[]): Promise<{ p: TempProject; r: ReportJson; ev: EcsEvent[]; sleepPid: number; exitCode: number | null }> {
    const p = project(label, ['detach-dep']);
    const dirs = freshRunDirs(p.root, 'run');
    const events = join(dirs.base, 'events.ndjson');
    const report = join(dirs.base, 'report.json');
    const result = await runInNetns(`exec ${guardedInstallCommand({ project: p, events, report, extra })}`, { workDir: join(p.root, 'netns'), env: runEnv(dirs) });
    expect(result.signal).toBeNull();
    const r = readReport(report);
    const ev = readEvents(events);
    const mine = ev.filter((e) => e.package.name === 'detach-dep');
    const sleepStart = mine.find((e) => e.event.action === 'process-start' && argsOf(e) === JSON.stringify(['sleep', '30']));
    expect(sleepStart, `no process-start for the detached sleep:\n${describeEvents(mine)}`).toBeDefined();
    const sleepPid = sleepStart?.process.pid ?? -1;
    console.log(`[e2e 3e ${label}] exit ${result.exitCode}, npm ran ${r.npm.durationMs} ms, sleep pid ${sleepPid}, outlived ${JSON.stringify(r.outlived)}, response ${JSON.stringify(r.response?.map((x) => x.pids))}`);

    // the trace shows the daemonizing: setsid(1) ran, and the sleep left the session
    expect(mine.some((e) => e.event.action === 'process-start' && argsOf(e) === JSON.stringify(['setsid', 'sleep', '30']))).toBe(true);
    expect(mine.some((e) => e.event.action === 'process-detach' && e.process.pid === sleepPid)).toBe(true);
    expect(r.packages.find((x) => x.name === 'detach-dep')?.scripts.map((s) => [s.event, s.exitCode])).toEqual([['postinstall', 0]]);
    // npm must not wait for the detached sleep 30 (plain npm returns at once)
    expect(r.npm.durationMs, 'npm waited for the detached `sleep 30` to exit').toBeLessThan(20_000);
    // and it does not survive guarded-install
    await waitFor(`detached sleep pid ${sleepPid} to be gone`, () => !isAlive(sleepPid), 3_000).catch(() => undefined);
    expect(isAlive(sleepPid), `detached sleep ${sleepPid} still running`).toBe(false);
    return { p, r, ev, sleepPid, exitCode: result.exitCode };
  }

  it('audit mode (--no-kill): a setsid, detached leftover is listed as outlived, ended after its script, and gone', async () => {
    const { p, r, ev, sleepPid, exitCode } = await detachRun('detach-audit', ['--no-kill']);
    expect(exitCode).toBe(r.verdict === 'fail' ? 3 : 0);
    expect(r.outlived.map((o) => ({ package: o.package, pid: o.pid, args: o.args, killed: o.killed }))).toEqual([
      { package: `detach-dep@${depVersion(p, 'detach-dep')}`, pid: sleepPid, args: ['sleep', '30'], killed: true },
    ]);
    // npm would wait for it (the tracer holds the script's stdio): it is ended
    // 300 ms after its script, in audit mode too, and reported
    const outlived = ev.filter((e) => e.event.action === 'process-outlived-script');
    expect(outlived.map((e) => [e.package.name, e.process.pid, e.run?.outcome_action])).toEqual([['detach-dep', sleepPid, 'killed']]);
  });

  it('default mode: a setsid, detached leftover is killed (by the responder or at the end), reported, and gone', async () => {
    const { r, sleepPid, exitCode } = await detachRun('detach-block', []);
    expect(exitCode).toBe(r.verdict === 'fail' ? 3 : 0);
    const killedAtEnd = r.outlived.some((o) => o.pid === sleepPid && o.killed);
    const killedByResponder = (r.response ?? []).some((x) => x.pids.includes(sleepPid));
    expect(killedAtEnd || killedByResponder, `pid ${sleepPid} in neither outlived (killed) nor response pids`).toBe(true);
  });
});
