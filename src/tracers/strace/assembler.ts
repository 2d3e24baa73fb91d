// Turns the parsed strace lines of one lifecycle script into normalized events.
// Keeps the state strace output leaves implicit: which tid belongs to which
// process, who forked whom, each process's cwd, and calls split across lines.
import { basename } from 'node:path';
import { buildEvent, scriptAttribution, type EventInput } from '../../events/build.js';
import type { GuardedEvent, LifecycleScript, ProcessRef } from '../../events/types.js';
import { argPath, decodeConnect, decodeFileCall, decodeSend, FILE_CALLS, type Call, type CallContext } from './decode.js';
import { decodeStringArray, parseStraceLine, splitArgs, splitDecoration, type StraceLine } from './line.js';

interface Proc {
  pid: number;
  ppid?: number;
  executable?: string;
  args?: string[];
  cwd: string;
  startedAt: number;
  alive: boolean;
}


const FORKS = new Set(['clone', 'clone3', 'fork', 'vfork']);
// Linux signal numbers 1..31 in order (x86 and the generic table used by arm64)
const SIGNALS = 'HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS'.split(' ');
type Parsed = Exclude<StraceLine, { type: 'unparsed' }>;
// How many lines of a not-yet-linked child we hold before giving up on its parent.
const MAX_ORPHAN_LINES = 256;

export interface AssemblerStats {
  lines: number;
  unparsed: number;
  events: number;
}

export class StraceAssembler {
  readonly stats: AssemblerStats = { lines: 0, unparsed: 0, events: 0 };
  private readonly procs = new Map<number, Proc>();
  private readonly threadOwner = new Map<number, number>();
  private readonly unfinished = new Map<number, { name: string; args: string; ts: number }>();
  private readonly pendingForks = new Map<number, boolean>(); // tid -> forking a thread?
  private readonly orphans = new Map<number, Parsed[]>();
  private readonly guessedParent = new Set<number>(); // adopted under the root, clone() unseen
  private readonly execReplaced = new Set<number>(); // leaders whose exec a thread completed
  private readonly udpSeen = new Set<string>();
  private rootPid: number | undefined;
  private rootEnded = false;
  // when the script's shell started, and how it ended (what npm saw)
  rootStart: number | undefined;
  rootExit: { code: number; ts: number } | undefined;

  constructor(
    private readonly script: LifecycleScript,
    private readonly emit: (event: GuardedEvent) => void,
  ) {}

  get scriptEnded(): boolean {
    return this.rootEnded;
  }

  // Processes of this script's tree that have not exited (per the trace so far).
  liveProcesses(): ProcessRef[] {
    return [...this.procs.values()].filter((p) => p.alive).map((p) => this.ref(p));
  }

  pushLine(text: string): void {
    this.stats.lines++;
    const line = parseStraceLine(text);
    if (line.type === 'unparsed') {
      if (text.trim() !== '') this.stats.unparsed++;
      return;
    }
    this.handle(line);
  }

  // End of trace: release anything still waiting for a parent.
  finish(): void {
    for (const [tid, lines] of this.orphans) {
      this.orphans.delete(tid);
      this.adopt(tid, this.rootPid, false, lines[0]?.ts ?? Date.now());
      for (const line of lines) this.handle(line);
    }
  }

  private handle(line: Parsed): void {
    if (line.type === 'signal') return;
    const tid = line.pid;
    if (this.rootPid === undefined) {
      this.rootPid = tid;
      this.rootStart = line.ts;
      this.procs.set(tid, { pid: tid, cwd: this.script.path, startedAt: line.ts, alive: true });
      this.emit(buildEvent({
        kind: 'script-start',
        ts: line.ts,
        process: { pid: tid, working_directory: this.script.path, args: [this.script.shell, '-c', this.script.command] },
        npm_script: { command: this.script.command, shell: this.script.shell },
      }, scriptAttribution(this.script, [])));
    } else if (!this.procs.has(tid) && !this.threadOwner.has(tid)) {
      // A child whose parent's clone() has not returned yet: hold its lines.
      if (this.pendingForks.size > 0 && (this.orphans.get(tid)?.length ?? 0) < MAX_ORPHAN_LINES) {
        const queue = this.orphans.get(tid) ?? [];
        queue.push(line);
        this.orphans.set(tid, queue);
        return;
      }
      // Parent still unknown: adopt under the root, replaying what was held (the
      // exec that says what this process is may be in there).
      const held = this.orphans.get(tid) ?? [];
      this.orphans.delete(tid);
      this.adopt(tid, this.rootPid, false, held[0]?.ts ?? line.ts);
      this.guessedParent.add(tid);
      for (const h of held) this.handle(h);
    }

    switch (line.type) {
      case 'exit':
        return this.onExit(tid, line.ts, line.code);
      case 'killed':
        return this.onExit(tid, line.ts, 128 + signalNumber(line.signal), line.signal);
      case 'superseded': {
        // A non-leader thread `byPid` exec'd and took over the leader's pid (this
        // line's): its exec began on the thread's line and ends on the leader's,
        // where strace 6 shows a bogus `= -1 (errno 18446744073709551359)`.
        const pending = this.unfinished.get(line.byPid);
        this.unfinished.delete(line.byPid);
        this.threadOwner.delete(line.byPid);
        if (pending) {
          this.unfinished.set(tid, pending);
          this.execReplaced.add(tid);
        }
        return;
      }
      case 'unfinished':
        if (FORKS.has(line.name)) this.pendingForks.set(tid, isThreadClone(line.name, line.args));
        this.unfinished.set(tid, { name: line.name, args: line.args, ts: line.ts });
        return;
      case 'resumed': {
        const start = this.unfinished.get(tid);
        this.unfinished.delete(tid);
        this.pendingForks.delete(tid);
        const raw = (start && start.name === line.name ? start.args : '') + line.rest;
        return this.onCall({ tid, ts: start?.ts ?? line.ts, name: line.name, args: splitArgs(raw), ret: line.ret, ...(line.errno ? { errno: line.errno } : {}) });
      }
      case 'call':
        return this.onCall({ tid, ts: line.ts, name: line.name, args: splitArgs(line.args), ret: line.ret, ...(line.errno ? { errno: line.errno } : {}) });
    }
  }

  private adopt(pid: number, ppid: number | undefined, thread: boolean, ts: number): void {
    if (thread && ppid !== undefined) {
      this.threadOwner.set(pid, this.owner(ppid));
      return;
    }
    const parent = ppid === undefined ? undefined : this.procs.get(this.owner(ppid));
    this.procs.set(pid, {
      pid,
      ...(parent ? { ppid: parent.pid } : {}),
      ...(parent?.executable ? { executable: parent.executable } : {}),
      ...(parent?.args ? { args: parent.args } : {}),
      cwd: parent?.cwd ?? this.script.path,
      startedAt: ts,
      alive: true,
    });
  }

  private owner(tid: number): number {
    return this.threadOwner.get(tid) ?? tid;
  }

  private onExit(tid: number, ts: number, code: number, signal?: string): void {
    if (this.threadOwner.has(tid)) {
      this.threadOwner.delete(tid);
      return;
    }
    const proc = this.procs.get(tid);
    if (!proc || !proc.alive) return;
    proc.alive = false;
    this.out({
      kind: 'process-end',
      ts,
      process: { ...this.ref(proc), exit_code: code, uptime_ms: Math.max(0, Math.round(ts - proc.startedAt)), ...(signal ? { signal } : {}) },
    }, proc);
    if (tid === this.rootPid && !this.rootEnded) { // once: the root's pid may be reused
      this.rootEnded = true;
      this.rootExit = { code, ts };
      this.out({ kind: 'script-end', ts, process: { ...this.ref(proc), exit_code: code } }, proc);
    }
  }

  private onCall(call: Call): void {
    const proc = this.procs.get(this.owner(call.tid));
    if (!proc) return;
    const ok = call.errno === undefined && call.ret !== '?' && !call.ret.startsWith('-');
    const first = call.args[0] ?? '';
    if (first.startsWith('AT_FDCWD<')) {
      const cwd = splitDecoration(first).decoration;
      if (cwd) proc.cwd = cwd;
    }
    switch (call.name) {
      case 'clone':
      case 'clone3':
      case 'fork':
      case 'vfork':
        return this.onFork(call, proc, ok);
      case 'execve':
      case 'execveat': {
        const replaced = this.execReplaced.delete(call.tid); // superseded: it did succeed
        return ok || replaced ? this.onExec(call, proc) : undefined;
      }
      case 'setsid':
        return ok ? this.out({ kind: 'process-detach', ts: call.ts, process: this.ref(proc) }, proc) : undefined;
      case 'chdir':
      case 'fchdir': {
        if (!ok) return;
        const dir = call.name === 'chdir' ? argPath(proc.cwd, undefined, first) : splitDecoration(first).decoration;
        if (dir) proc.cwd = dir;
        return;
      }
      case 'connect': {
        const input = decodeConnect(call, this.callContext(proc));
        return input ? this.out(input, proc) : undefined;
      }
      case 'sendto':
      case 'sendmsg':
      case 'sendmmsg':
        if (ok) for (const input of decodeSend(call, this.callContext(proc), this.udpSeen)) this.out(input, proc);
        return;
      default: {
        const input = FILE_CALLS.has(call.name) ? decodeFileCall(call, ok, this.callContext(proc)) : undefined;
        if (input) this.out(input, proc);
      }
    }
  }

  private onFork(call: Call, proc: Proc, ok: boolean): void {
    const isThread = isThreadClone(call.name, call.args.join(', '));
    this.pendingForks.delete(call.tid);
    if (!ok) return;
    const child = Number.parseInt(call.ret, 10);
    if (!Number.isFinite(child) || child <= 0) return;
    if (this.guessedParent.delete(child)) {
      // its lines outran the orphan buffer: keep what its exec said, fix the tree
      const guessed = this.procs.get(child);
      if (guessed && !isThread) {
        guessed.ppid = proc.pid;
        return;
      }
      this.procs.delete(child);
    }
    this.adopt(child, proc.pid, isThread, call.ts);
    const held = this.orphans.get(child);
    if (held) {
      this.orphans.delete(child);
      for (const line of held) this.handle(line);
    }
  }

  private onExec(call: Call, proc: Proc): void {
    const [pathArg, argvArg] = call.name === 'execveat' ? [call.args[1], call.args[2]] : [call.args[0], call.args[1]];
    const dirfd = call.name === 'execveat' ? call.args[0] : undefined;
    const executable = argPath(proc.cwd, dirfd, pathArg ?? '') ?? '';
    proc.executable = executable;
    proc.args = decodeStringArray(argvArg ?? '');
    proc.startedAt = call.ts;
    const ref = this.ref(proc);
    this.out({ kind: 'process-start', ts: call.ts, process: { ...ref, executable, name: basename(executable), args: proc.args } }, proc);
  }

  private callContext(proc: Proc): CallContext {
    return { pid: proc.pid, cwd: proc.cwd, ref: this.ref(proc) };
  }

  private ref(proc: Proc): ProcessRef {
    const ref: ProcessRef = { pid: proc.pid, working_directory: proc.cwd };
    if (proc.ppid !== undefined) ref.parent = { pid: proc.ppid };
    if (proc.executable) {
      ref.executable = proc.executable;
      ref.name = basename(proc.executable);
    }
    if (proc.args) ref.args = proc.args;
    return ref;
  }

  private ancestry(proc: Proc): number[] {
    const chain: number[] = [];
    let cur = proc.ppid;
    // a reused pid can make the parent links loop: stop at the first repeat
    while (cur !== undefined && chain.length < 64 && cur !== proc.pid && !chain.includes(cur)) {
      chain.push(cur);
      cur = this.procs.get(cur)?.ppid;
    }
    return chain;
  }

  private out(input: EventInput, proc: Proc): void {
    this.stats.events++;
    this.emit(buildEvent(input, scriptAttribution(this.script, this.ancestry(proc))));
  }
}

function signalNumber(name: string): number {
  const rt = /^SIGRT_(\d+)$/.exec(name); // strace counts realtime signals from 32
  if (rt) return 32 + Number(rt[1]);
  return name === 'SIGIOT' ? 6 : SIGNALS.indexOf(name.slice(3)) + 1;
}

function isThreadClone(name: string, args: string): boolean {
  return (name === 'clone' || name === 'clone3') && args.includes('CLONE_THREAD');
}
