// Turns the parsed strace lines of one lifecycle script into normalized events.
// Keeps the state strace output leaves implicit: which tid belongs to which
// process, who forked whom, each process's cwd, and calls split across lines.
import { basename } from 'node:path';
import { buildEvent, scriptAttribution, type EventInput } from '../../events/build.js';
import type { GuardedEvent, LifecycleScript, ProcessRef, VisibilityFacts, VisibilityNotice } from '../../events/types.js';
import { argPath, decodeConnect, decodeFileCall, decodePtrace, decodeSend, decodeSignalTarget, FILE_CALLS, procStatusPid, SIGNAL_CALLS, type Call, type CallContext } from './decode.js';
import { decodeStringArray, parseCutCall, parseStraceLine, splitArgs, splitDecoration, type StraceLine } from './line.js';
import { SocketTable, socketInode, socketTransport } from './sockets.js';

interface Proc {
  pid: number;
  ppid?: number;
  executable?: string;
  args?: string[];
  cwd: string;
  startedAt: number;
  forkedAt: number; // when its clone() returned (startedAt moves to its exec)
  detached?: boolean; // it (or an ancestor) called setsid: its own process group
  alive: boolean;
}

// What the assembler asks its host about pids outside the script's own tree
// (the collector answers from /proc; tests answer with a table).
export interface SupervisionLookup {
  // 'tracer', 'npm' or 'guarded-install' for a pid of the supervision itself
  roleOf(pid: number): string | undefined;
  // a process group holding npm or guarded-install; 'script' is the group the
  // script's root shell runs in
  groupRoleOf(pgid: number | 'script'): string | undefined;
  // guarded-install's run directory (traces, identity records): not the
  // script's to change; the Node preload's own `*.preload` records excepted
  runDir?: string;
}


const FORKS = new Set(['clone', 'clone3', 'fork', 'vfork']);
// Linux signal numbers 1..31 in order (x86 and the generic table used by arm64)
const SIGNALS = 'HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS'.split(' ');
type Parsed = Exclude<StraceLine, { type: 'unparsed' }>;
// How many lines of a not-yet-linked child we hold before giving up on its parent.
const MAX_ORPHAN_LINES = 256;
// Bounds on the link and O_TMPFILE bookkeeping (a script may make millions).
const MAX_TRACKED_FILES = 4096;
const PROC_FD = /^\/proc\/(self|\d+)\/fd\/(\d+)$/;

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
  private readonly sockets = new SocketTable();
  private readonly describeSocket = (decoration: string | undefined) => this.sockets.describe(decoration);
  private readonly hardLinks = new Map<string, string>(); // link the script made -> the file it names
  private readonly tmpFiles = new Map<string, string>(); // `${pid}:${fd}` -> its O_TMPFILE path
  private readonly checks = new Set<string>(); // trace-checks reported, `${pid}:${target}`
  private readonly tampered = new Set<string>(); // run-dir changes reported, `${pid}:${path}`
  private rootPidSeen: number | undefined;
  private rootEnded = false;
  // when the script's shell started, and how it ended (what npm saw)
  rootStart: number | undefined;
  rootExit: { code: number; ts: number } | undefined;

  constructor(
    private readonly script: LifecycleScript,
    private readonly emit: (event: GuardedEvent) => void,
    private readonly supervision?: SupervisionLookup,
  ) {}

  get rootPid(): number | undefined {
    return this.rootPidSeen;
  }

  // Processes still running per the trace, with when each was forked (the
  // collector proves identity by start time once the tracer is gone).
  liveProcessStarts(): Array<{ process: ProcessRef; forkedAt: number }> {
    return [...this.procs.values()].filter((p) => p.alive).map((p) => ({ process: this.ref(p), forkedAt: p.forkedAt }));
  }

  // Loss of visibility, as a notice attributed to this script: on the root
  // shell's process unless a pid of the script is named.
  notice(notice: VisibilityNotice, message: string, ts: number, facts: Omit<VisibilityFacts, 'notice'> = {}, pid?: number): void {
    const proc = this.procs.get(pid ?? this.rootPidSeen ?? -1);
    const process: ProcessRef = proc ? this.ref(proc) : { pid: pid ?? this.rootPidSeen ?? this.script.shimPid, working_directory: this.script.path };
    const input: EventInput = { kind: 'tracer-notice', ts, process, message, tracer: 'strace', run: { notice, ...facts } };
    if (proc) this.out(input, proc);
    else {
      this.stats.events++;
      this.emit(buildEvent(input, scriptAttribution(this.script, [])));
    }
  }

  // The tracer ended before this script did. `cut` is the trace's last,
  // unterminated line: the call in progress when the tracer died (often the
  // kill() aimed at it). Reports it, and forgets the processes in `ended`.
  tracerLost(cut: string, ts: number, facts: { tracerPid?: number; pids: number[]; ended: number[] }): void {
    const call = cut ? parseCutCall(cut) : undefined;
    const callText = call ? `${call.name}(${call.args.join(', ')}` : undefined;
    if (call && SIGNAL_CALLS.has(call.name)) {
      // strace prints a call's start, lets it run, and prints the rest when it
      // returns: a signal call cut short by the tracer's death was the blow
      // (the tracer's pid may not be known yet when the blow came at once)
      const proc = this.procs.get(this.owner(call.pid));
      if (proc) this.onSignal({ tid: call.pid, ts: call.ts, name: call.name, args: call.args, ret: '?' }, proc, 'tracer');
    }
    const unseen = facts.pids.filter((p) => !facts.ended.includes(p));
    this.notice('tracer-lost', `the tracer of this script ended while ${facts.pids.length} of its processes still ran${callText ? ` (last call: ${callText})` : ''}: what they did since is unseen${facts.ended.length ? `; ended ${facts.ended.length}` : ''}${unseen.length ? `; ${unseen.length} could not be proven ours and were left` : ''}`, ts, {
      ...(facts.tracerPid !== undefined ? { tracer_pid: facts.tracerPid } : {}),
      ...(callText ? { call: callText } : {}),
      pids: facts.pids,
      ended: facts.ended,
    });
    for (const pid of facts.ended) {
      const proc = this.procs.get(pid);
      if (proc) proc.alive = false;
    }
  }

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
      this.adopt(tid, this.rootPidSeen, false, lines[0]?.ts ?? Date.now());
      for (const line of lines) this.handle(line);
    }
  }

  private handle(line: Parsed): void {
    if (line.type === 'signal') return;
    const tid = line.pid;
    if (this.rootPidSeen === undefined) {
      this.rootPidSeen = tid;
      this.rootStart = line.ts;
      this.procs.set(tid, { pid: tid, cwd: this.script.path, startedAt: line.ts, forkedAt: line.ts, alive: true });
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
      this.adopt(tid, this.rootPidSeen, false, held[0]?.ts ?? line.ts);
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
      forkedAt: ts,
      ...(parent?.detached ? { detached: true } : {}),
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
    if (tid === this.rootPidSeen && !this.rootEnded) { // once: the root's pid may be reused
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
        if (!ok) return;
        proc.detached = true;
        return this.out({ kind: 'process-detach', ts: call.ts, process: this.ref(proc) }, proc);
      case 'kill':
      case 'tkill':
      case 'tgkill':
      case 'pidfd_open':
        return this.onSignal(call, proc);
      case 'ptrace':
        return this.onPtrace(call, proc);
      case 'chdir':
      case 'fchdir': {
        if (!ok) return;
        const dir = call.name === 'chdir' ? argPath(proc.cwd, undefined, first) : splitDecoration(first).decoration;
        if (dir) proc.cwd = dir;
        return;
      }
      case 'socket': {
        const inode = ok ? socketInode(splitDecoration(call.ret).decoration) : undefined;
        if (inode !== undefined) this.sockets.created(inode, socketTransport(call.args));
        return;
      }
      case 'connect': {
        const input = decodeConnect(call, this.callContext(proc));
        if (!input) return;
        const inode = socketInode(splitDecoration(first).decoration);
        if (inode !== undefined && input.kind === 'network-connect' && input.destination.ip && input.outcome !== 'failure') {
          this.sockets.connected(inode, { ip: input.destination.ip, port: input.destination.port ?? 0 });
        }
        return this.out(input, proc);
      }
      case 'sendto':
      case 'sendmsg':
      case 'sendmmsg':
        if (ok) for (const input of decodeSend(call, this.callContext(proc), this.udpSeen)) this.out(input, proc);
        return;
      default: {
        if (!FILE_CALLS.has(call.name)) return;
        if (ok && call.ret.includes('</proc/')) this.checkTraceCheck(call, proc);
        const input = decodeFileCall(call, ok, this.callContext(proc));
        if (!input) return;
        this.out(this.trackFiles(input, call, proc), proc);
        this.checkRunDir(input, call, proc);
      }
    }
  }

  // Hard links and O_TMPFILE files: a write through a link the script made
  // lands in the linked file; linkat(/proc/self/fd/N) names an O_TMPFILE file.
  private trackFiles(input: EventInput, call: Call, proc: Proc): EventInput {
    switch (input.kind) {
      case 'file-write': {
        if (input.syscall.flags.includes('O_TMPFILE')) {
          const fd = splitDecoration(call.ret).value;
          if (/^\d+$/.test(fd)) bounded(this.tmpFiles, `${proc.pid}:${fd}`, input.file.path);
        }
        return input;
      }
      case 'file-link': {
        const viaFd = PROC_FD.exec(input.file.target_path);
        if (viaFd) {
          const owner = viaFd[1] === 'self' ? proc.pid : this.owner(Number(viaFd[1]));
          const tmp = this.tmpFiles.get(`${owner}:${viaFd[2]}`);
          if (tmp) input.file.target_path = tmp;
        }
        if (input.syscall.name === 'link' || input.syscall.name === 'linkat') {
          bounded(this.hardLinks, input.file.path, this.hardLinks.get(input.file.target_path) ?? input.file.target_path);
        }
        return input;
      }
      case 'file-rename': {
        const linked = this.hardLinks.get(input.syscall.source_path);
        this.hardLinks.delete(input.syscall.source_path);
        if (linked) bounded(this.hardLinks, input.file.path, linked);
        else this.hardLinks.delete(input.file.path);
        return input;
      }
      case 'file-delete':
        this.hardLinks.delete(input.file.path);
        return input;
      default:
        return input;
    }
  }

  // A change inside guarded-install's run directory: a script rewriting its
  // own trace (a fake exit line), or another script's, blinds us from within.
  private checkRunDir(input: EventInput, call: Call, proc: Proc): void {
    const runDir = this.supervision?.runDir;
    if (!runDir || this.tampered.size >= MAX_TRACKED_FILES) return;
    const paths = input.kind === 'file-rename' ? [input.syscall.source_path, input.file.path]
      : input.kind === 'file-write' || input.kind === 'file-delete' || input.kind === 'file-link' || input.kind === 'dir-create' ? [input.file.path]
      : [];
    const inside = paths.find((p) => p === runDir || p.startsWith(`${runDir}/`));
    if (inside === undefined) return;
    // the Node preload appends its records to <run dir>/<id>.preload
    if (input.kind === 'file-write' && paths.every((p) => p.endsWith('.preload'))) return;
    if (this.tampered.has(`${proc.pid}:${inside}`)) return;
    this.tampered.add(`${proc.pid}:${inside}`);
    this.notice('run-dir-tamper', `pid ${proc.pid} changed ${inside} (${input.kind}) in guarded-install's run directory`, call.ts, { path: inside, call: call.name }, proc.pid);
  }

  // Opening the /proc status (TracerPid) of a process of this very script.
  private checkTraceCheck(call: Call, proc: Proc): void {
    const path = splitDecoration(call.ret).decoration;
    const target = path === undefined ? undefined : procStatusPid(path);
    if (target === undefined || !(this.procs.has(target) || this.threadOwner.has(target))) return;
    const key = `${proc.pid}:${this.owner(target)}`;
    if (this.checks.has(key) || this.checks.size >= MAX_TRACKED_FILES) return;
    this.checks.add(key);
    this.notice('trace-check', `pid ${proc.pid} read ${path}, where a process's TracerPid is`, call.ts, { target_pid: this.owner(target), ...(path ? { path } : {}), call: call.name }, proc.pid);
  }

  private onSignal(call: Call, proc: Proc, otherwise?: string): void {
    const sig = decodeSignalTarget(call.name, call.args);
    if (!sig || sig.signal === '0') return; // signal 0 only asks whether a pid exists
    const own = sig.target > 0 && (this.procs.has(sig.target) || this.threadOwner.has(sig.target));
    const role = this.targetRole(sig.target, proc) ?? (own ? undefined : otherwise);
    if (!role) return;
    const result = call.errno ? `${call.ret} ${call.errno}` : call.ret;
    this.notice('signal-to-supervisor', `pid ${proc.pid} sent ${sig.signal} to ${role === 'process-group' ? 'the process group of npm and guarded-install' : role === 'every-process' ? 'every process it may signal' : `${role} (pid ${sig.target})`}`, call.ts, {
      target_pid: sig.target,
      target_role: role,
      signal: sig.signal,
      call: `${call.name}(${call.args.join(', ')}) = ${result}`,
    }, proc.pid);
  }

  private targetRole(target: number, proc: Proc): string | undefined {
    if (target === -1) return 'every-process';
    if (target > 0) return this.procs.has(target) || this.threadOwner.has(target) ? undefined : this.supervision?.roleOf(target);
    if (target === 0 && proc.detached) return undefined; // its own session's group
    return this.supervision?.groupRoleOf(target === 0 ? 'script' : -target);
  }

  private onPtrace(call: Call, proc: Proc): void {
    const req = decodePtrace(call.args);
    if (!req) return;
    const result = call.errno ? `${call.ret} ${call.errno}` : call.ret;
    this.notice('ptrace', req.request === 'PTRACE_TRACEME' ? `pid ${proc.pid} asked to be traced (PTRACE_TRACEME): the classic check for a tracer` : `pid ${proc.pid} tried to trace pid ${req.target ?? '?'} (${req.request})`, call.ts, {
      call: `ptrace(${call.args.join(', ')}) = ${result}`,
      ...(req.target !== undefined ? { target_pid: req.target } : {}),
    }, proc.pid);
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
    return { pid: proc.pid, cwd: proc.cwd, ref: this.ref(proc), socket: this.describeSocket, ...(this.hardLinks.size > 0 ? { alias: (path: string) => this.hardLinks.get(path) } : {}) };
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

// A map that forgets its oldest entries beyond MAX_TRACKED_FILES.
function bounded(map: Map<string, string>, key: string, value: string): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_TRACKED_FILES) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
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
