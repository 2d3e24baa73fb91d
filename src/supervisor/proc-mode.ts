// The `proc` tracer's side of a supervised run: the /proc poller and file
// watcher (src/tracers/proc) and the Node preload's records (src/tracers/preload)
// feed one event stream. Both can see the same thing (node spawns a process the
// poller also finds; node unlinks a file chokidar also reports), so each fact is
// reported once. It also does what strace's trace tells the strace mode for free:
// which processes are still alive, whether a pid is still ours, and what a
// script left running after it ended.
import { buildEvent, scriptAttribution } from '../events/build.js';
import type { GuardedEvent, LifecycleScript, ProcessRef } from '../events/types.js';
import { ProcTracer } from '../tracers/proc/index.js';

// How long a fact reported by one source suppresses the same fact from the other.
const SAME_FACT_MS = 5_000;

export interface ProcModeOptions {
  runDir: string;
  npmPid: number;
  scripts: () => LifecycleScript[];
  emit: (event: GuardedEvent) => void;
  home: string;
  tempDirs: string[];
  projectRoot: string;
  outliveGraceMs: number;
}

// The key under which two sources report the same fact, if they can.
function factKey(event: GuardedEvent): string | undefined {
  switch (event.kind) {
    case 'process-start':
      // argv, not the executable: node names the file it spawns (`/bin/sh`),
      // /proc the binary behind it (`/usr/bin/dash`); both see the same argv
      return `start|${event.process.pid}|${event.process.args.join('\0')}`;
    case 'process-end':
      return `end|${event.process.pid}`;
    case 'network-connect':
      return `connect|${event.process.pid}|${event.destination.address}|${event.destination.port ?? ''}`;
    case 'file-write':
    case 'file-delete':
    case 'dir-create':
    case 'sensitive-read':
      return `${event.kind}|${event.npm.script_id}|${event.file.path}`;
    case 'file-rename':
      return `rename|${event.npm.script_id}|${event.syscall.source_path}|${event.file.path}`;
    case 'file-link':
    case 'dns-query':
    case 'process-detach':
    case 'run-start':
    case 'script-start':
    case 'script-end':
    case 'process-outside-script':
    case 'process-outlived-script':
    case 'process-outlived-install':
    case 'tracer-notice':
      return undefined;
  }
}

export class FactDeduper {
  private readonly seen = new Map<string, number>();
  private sweeps = 0;

  // true when the event is new
  admit(event: GuardedEvent, now = Date.now()): boolean {
    const key = factKey(event);
    if (key === undefined) return true;
    if (this.recent(key, now)) return false;
    this.seen.set(key, now);
    if (++this.sweeps % 1024 === 0) for (const [k, at] of this.seen) if (now - at > SAME_FACT_MS) this.seen.delete(k);
    return true;
  }

  private recent(key: string, now: number): boolean {
    const at = this.seen.get(key);
    return at !== undefined && now - at <= SAME_FACT_MS;
  }
}

export class ProcMode {
  readonly tracer: ProcTracer;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly leftovers: Array<{ script: LifecycleScript; process: ProcessRef; killed: boolean }> = [];
  private readonly killedScripts = new Set<string>();

  constructor(private readonly options: ProcModeOptions) {
    const byId = (id: string): LifecycleScript | undefined => options.scripts().find((s) => s.id === id);
    this.tracer = new ProcTracer({
      runDir: options.runDir,
      npmPid: options.npmPid,
      scriptById: byId,
      scriptByRootPid: (pid) => options.scripts().find((s) => s.shimPid === pid),
      emit: options.emit,
      home: options.home,
      tempDirs: options.tempDirs,
      projectRoot: options.projectRoot,
      killedByUs: (script) => this.killedScripts.has(script.id),
    });
  }

  start(): void {
    this.tracer.start();
  }

  // A script's shim reported in: watch its package folder, look at its tree now.
  onScriptStart(script: LifecycleScript): void {
    this.tracer.watchPackage(script);
    this.tracer.pollNow();
  }

  // Its shim reported the exit: whatever of it still runs after the grace is
  // a leftover (daemon, detached second stage) and is ended.
  onScriptEnd(script: LifecycleScript): void {
    this.tracer.pollNow();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.tracer.pollNow();
      const left = this.live().filter((l) => l.script.id === script.id).map((l) => l.process);
      if (left.length === 0) return;
      const killed = new Set(this.kill(left.map((p) => p.pid)));
      const ts = Date.now();
      for (const process of left) {
        this.leftovers.push({ script, process, killed: killed.has(process.pid) });
        this.options.emit(buildEvent({ kind: 'process-outlived-script', ts, process, outcome_action: killed.has(process.pid) ? 'killed' : 'left-running' }, scriptAttribution(script, [])));
      }
    }, this.options.outliveGraceMs);
    timer.unref();
    this.timers.add(timer);
  }

  live(): Array<{ script: LifecycleScript; process: ProcessRef }> {
    return this.tracer.liveProcesses();
  }

  refresh(): void {
    this.tracer.pollNow();
  }

  // SIGKILL those of `pids` that are provably still the processes we tracked
  // (alive, same start time: pids get reused). Looks again first, so a process
  // born since the last poll does not escape. Returns the pids signalled.
  kill(pids: Iterable<number>): number[] {
    this.tracer.pollNow();
    const scriptOf = new Map(this.live().map(({ script, process }) => [process.pid, script.id]));
    const killed: number[] = [];
    for (const pid of pids) {
      if (!this.tracer.isOurs(pid)) continue;
      const script = scriptOf.get(pid);
      if (script !== undefined) this.killedScripts.add(script);
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch {
        // exited meanwhile
      }
    }
    return killed;
  }

  outlivedScripts(): Array<{ script: LifecycleScript; process: ProcessRef; killed: boolean }> {
    return this.leftovers;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.tracer.stop();
  }
}
