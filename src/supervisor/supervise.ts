// Runs npm under supervision: every lifecycle script goes through our shim (npm's
// `script-shell`), is traced, and reports into a private run directory that we
// follow live. The npm tree is polled for anything running outside a shim.
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEvent, scriptAttribution, UNATTRIBUTED } from '../events/build.js';
import type { GuardedEvent, LifecycleScript, ProcessRef } from '../events/types.js';
import { straceArgs } from '../tracers/strace/command.js';
import { isAlive, isOurs, killOurs, sleep } from './cleanup.js';
import { spawnNpm, type NpmExit, type NpmOutput } from './npm.js';
import { PreloadFeed } from './preload-feed.js';
import { FactDeduper, ProcMode } from './proc-mode.js';
import { canPin, CpuPinner } from './cpu-pinning.js';
import { OUTLIVE_GRACE_MS, TraceCollector } from './trace-collector.js';
import { TreeWatch, type OutsideProcess } from './tree-watch.js';
import { detectUserShell, type UserShell } from './user-shell.js';

export const SHIM_PATH = fileURLToPath(new URL('../../shim/script-shell.sh', import.meta.url));
export const PRELOAD_PATH = fileURLToPath(new URL('../../preload/guarded-preload.cjs', import.meta.url));

export type TracerChoice = { name: 'strace'; path: string } | { name: 'proc' } | { name: 'none' };

// What the proc tracer watches besides the scripts' own folders.
export interface WatchedPlaces {
  home: string;
  tempDirs: string[];
  projectRoot: string;
}

export interface SuperviseOptions {
  cwd: string;
  npmArgs: string[];
  tracer: TracerChoice;
  env: NodeJS.ProcessEnv;
  output: NpmOutput;
  onEvent: (event: GuardedEvent) => void;
  places: WatchedPlaces;
  treePollMs?: number;
  // snapshot package.json and named script files before each script runs
  evidence?: boolean;
  // strace: put a busy single-CPU script and its tracer on one CPU (default on)
  cpuPinning?: boolean;
}

export interface OutlivedProcess {
  script: LifecycleScript;
  process: ProcessRef;
  killed: boolean;
}

export interface SupervisedRun {
  scripts: LifecycleScript[];
  npm: NpmExit;
  outlived: OutlivedProcess[];
  outside: OutsideProcess[];
  userShell: UserShell;
  runDir: string;
  interruptedBy?: NodeJS.Signals;
  aborted: boolean;
  // remove the run directory (after evidence has been kept)
  cleanup: () => void;
}

export interface Supervision {
  done: Promise<SupervisedRun>;
  // forward a signal we received to npm (and through it, to the scripts)
  interrupt: (signal: NodeJS.Signals) => void;
  // stop npm because a package was blocked
  abort: () => void;
  runDir: string;
  collector: TraceCollector;
  // live processes of the scripts `test` picks, per the tracer
  livePids: (test: (script: LifecycleScript) => boolean) => number[];
  // SIGKILL the given pids that are provably ours; returns those signalled
  kill: (pids: Iterable<number>) => number[];
}

// How long npm gets to end its scripts after a forwarded signal before SIGKILL.
const INTERRUPT_GRACE_MS = 10_000;
// How long traces get to report the end of processes we killed.
const DRAIN_MS = 2_000;

export function assertShimExecutable(): void {
  accessSync(SHIM_PATH, constants.X_OK);
}

function npmEnv(base: NodeJS.ProcessEnv, runDir: string, tracer: TracerChoice, userShell: string | undefined, evidence: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) {
    // our script-shell must win over any the user set in the environment
    if (k.toLowerCase() !== 'npm_config_script_shell' && !k.startsWith('GUARDED_INSTALL_')) env[k] = v;
  }
  env.npm_config_script_shell = SHIM_PATH;
  env.GUARDED_INSTALL_RUN_DIR = runDir;
  env.GUARDED_INSTALL_SHIM_TRACER = tracer.name;
  if (evidence) env.GUARDED_INSTALL_EVIDENCE = '1';
  if (userShell) env.GUARDED_INSTALL_USER_SHELL = userShell;
  if (tracer.name !== 'none') env.GUARDED_INSTALL_PRELOAD = PRELOAD_PATH;
  // strace sees every syscall: the preload only has to name the hosts node resolved
  if (tracer.name === 'strace') env.GUARDED_INSTALL_PRELOAD_MODE = 'names';
  if (tracer.name === 'strace') {
    env.GUARDED_INSTALL_STRACE = tracer.path;
    env.GUARDED_INSTALL_STRACE_ARGS = straceArgs().join(' ');
  }
  return env;
}

export function supervise(options: SuperviseOptions): Supervision {
  const runDir = mkdtempSync(join(options.env.TMPDIR ?? tmpdir(), 'guarded-install-'));
  let npmKill: ((signal: NodeJS.Signals) => void) | undefined;
  let interruptedBy: NodeJS.Signals | undefined;
  let escalation: NodeJS.Timeout | undefined;
  let aborted = false;
  // Processes still running after their script ended are ended then and there,
  // in every mode: they are a finding either way, and the tracer holds the
  // script's stdio, so npm would wait for them.
  const leftoversFromScripts: OutlivedProcess[] = [];
  let procMode: ProcMode | undefined;
  const deduper = new FactDeduper();
  const preloadRecordPrefix = `${runDir}/`;
  const scriptById = (id: string): LifecycleScript | undefined => collector.scripts().find((s) => s.id === id);
  const emit = (event: GuardedEvent): void => {
    // strace sees the preload append to its own record files
    if (event.kind === 'file-write' && event.file.path.startsWith(preloadRecordPrefix) && event.file.path.endsWith('.preload')) return;
    if (event.kind === 'network-connect' && event.destination.ip && !event.destination.domain) {
      const domain = preload?.hostnameFor(event.destination.ip);
      if (domain) event.destination.domain = domain;
    }
    if (procMode) {
      if (!deduper.admit(event)) return;
      const script = event.kind === 'script-start' || event.kind === 'script-end' ? scriptById(event.npm.script_id) : undefined;
      if (script && event.kind === 'script-start') procMode.onScriptStart(script);
      options.onEvent(event);
      if (script && event.kind === 'script-end') procMode.onScriptEnd(script);
      return;
    }
    options.onEvent(event);
  };
  const kill = (pids: Iterable<number>): number[] => (procMode ? procMode.kill(pids) : killOurs(pids, runDir));
  const live = (): Array<{ script: LifecycleScript; process: ProcessRef }> => (procMode ? procMode.live() : collector.liveProcesses());
  const collector = new TraceCollector(runDir, options.tracer.name, emit, (script, processes) => {
    const killed = new Set(kill(processes.map((p) => p.pid)));
    for (const process of processes) leftoversFromScripts.push({ script, process, killed: killed.has(process.pid) });
    return killed;
  }, options.tracer.name === 'strace' && options.cpuPinning !== false && canPin() ? new CpuPinner() : undefined);
  // Node scripts' own account: events under proc, host names under strace
  const preload = options.tracer.name === 'none' ? undefined : new PreloadFeed(runDir, scriptById, options.tracer.name === 'proc' ? emit : undefined);

  // npm only forwards signals to scripts that share its terminal; install
  // scripts run on pipes, so the scripts get the signal from us too.
  const stopNpm = (signal: NodeJS.Signals): void => {
    npmKill?.(signal);
    procMode?.refresh();
    for (const { process: p } of live()) {
      if (procMode ? !procMode.tracer.isOurs(p.pid) : !isOurs(p.pid, runDir)) continue;
      try {
        process.kill(p.pid, signal);
      } catch {
        // gone
      }
    }
    escalation ??= setTimeout(() => npmKill?.('SIGKILL'), INTERRUPT_GRACE_MS);
  };
  const interrupt = (signal: NodeJS.Signals): void => {
    interruptedBy ??= signal;
    stopNpm(signal);
  };
  const abort = (): void => {
    aborted = true;
    stopNpm('SIGTERM');
  };

  const done = (async (): Promise<SupervisedRun> => {
    const userShell = await detectUserShell(options.cwd, options.npmArgs, options.env);
    const outside: OutsideProcess[] = [];
    collector.start();
    preload?.start();
    const npm = spawnNpm(userShell.npmArgs, options.cwd, npmEnv(options.env, runDir, options.tracer, userShell.shell, options.evidence ?? true), options.output);
    npmKill = npm.kill;
    if (options.tracer.name === 'proc' && npm.pid !== undefined) {
      procMode = new ProcMode({ runDir, npmPid: npm.pid, scripts: () => collector.scripts(), emit, ...options.places, outliveGraceMs: OUTLIVE_GRACE_MS });
      procMode.start();
    }
    if (interruptedBy) npm.kill(interruptedBy);
    else if (aborted) npm.kill('SIGTERM');

    const scriptRoots = (): Set<number> => new Set(collector.scripts().map((s) => s.shimPid));
    let roots = scriptRoots();
    const watch = npm.pid === undefined ? undefined : new TreeWatch({
      rootPid: npm.pid,
      intervalMs: options.treePollMs ?? 1000,
      scriptsAreTraced: options.tracer.name === 'strace',
      // the proc tracer follows every descendant of a shim itself
      isScriptRoot: (pid) => roots.has(pid) || (roots = scriptRoots()).has(pid),
      onOutside: (proc) => {
        outside.push(proc);
        options.onEvent(buildEvent({
          kind: 'process-outside-script',
          ts: proc.seenAt,
          process: { pid: proc.pid, parent: { pid: proc.ppid }, args: proc.args, ...(proc.cwd ? { working_directory: proc.cwd } : {}) },
        }, UNATTRIBUTED));
      },
    });
    watch?.start();

    const npmExit = await npm.done;
    if (escalation) clearTimeout(escalation);
    watch?.stop();

    const outlived = [...leftoversFromScripts, ...(procMode?.outlivedScripts() ?? []), ...(await endLeftovers({ scan: () => (collector.scan(), procMode?.refresh()), live, kill }, emit))];
    preload?.finish();
    await procMode?.stop();
    collector.finish();
    return {
      scripts: collector.scripts(),
      npm: npmExit,
      outlived,
      outside,
      userShell,
      runDir,
      aborted,
      cleanup: () => rmSync(runDir, { recursive: true, force: true }),
      ...(interruptedBy ? { interruptedBy } : {}),
    };
  })();

  return {
    done,
    interrupt,
    abort,
    runDir,
    collector,
    livePids: (test) => live().filter(({ script }) => test(script)).map(({ process }) => process.pid),
    kill,
  };
}

// Processes a script started that are still running now that npm is done
// (daemons, detached or setsid'd children): report and end them.
interface LeftoverSource {
  scan: () => void;
  live: () => Array<{ script: LifecycleScript; process: ProcessRef }>;
  kill: (pids: Iterable<number>) => number[];
}

async function endLeftovers(source: LeftoverSource, emit: (e: GuardedEvent) => void): Promise<OutlivedProcess[]> {
  source.scan();
  const live = source.live().filter(({ process }) => isAlive(process.pid));
  if (live.length === 0) return [];
  const killed = new Set(source.kill(live.map(({ process }) => process.pid)));
  const outlived = live.map(({ script, process }) => ({ script, process, killed: killed.has(process.pid) }));
  for (const { script, process, killed: wasKilled } of outlived) {
    emit(buildEvent({
      kind: 'process-outlived-install',
      ts: Date.now(),
      process,
      outcome_action: wasKilled ? 'killed' : isAlive(process.pid) ? 'left-running' : 'gone',
    }, scriptAttribution(script, [])));
  }
  // let the tracers write the deaths before we stop reading
  const deadline = Date.now() + DRAIN_MS;
  while (Date.now() < deadline) {
    source.scan();
    if (!source.live().some(({ process }) => killed.has(process.pid))) break;
    await sleep(25);
  }
  return outlived;
}
