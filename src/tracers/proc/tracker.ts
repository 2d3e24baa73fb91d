// The proc tracer's process bookkeeping: each poll diffs the process table
// against the last one and turns what changed in the lifecycle scripts' trees
// into the same events the strace tracer emits. Knows nothing of /proc or ps:
// it asks a ProcSource, so the unit tests script one.
//
// What is tracked: npm, its descendants, and processes whose environment names
// this run (daemons that escaped the tree). A process belongs to a script when
// its ancestry reaches the script's shim, or its environment names the script.
// Until the shim's meta file is read a tree waits, its events queued.
import { basename } from 'node:path';
import { buildEvent, scriptAttribution, type EventInput } from '../../events/build.js';
import { isSensitivePath } from '../../events/sensitive-paths.js';
import type { GuardedEvent, LifecycleScript, ProcessRef } from '../../events/types.js';
import type { Connection, ProcImage, ProcInfo, ProcSource } from './source.js';

export interface TrackerOptions {
  runDir: string;
  npmPid: number;
  scriptById(id: string): LifecycleScript | undefined;
  scriptByRootPid(pid: number): LifecycleScript | undefined;
  emit(event: GuardedEvent): void;
  now?: () => number;
  // open files and sockets are scanned at most every this many times what a
  // scan costs (lsof on macOS, a huge socket table on a busy host); 0: every poll
  fdScanFactor?: number;
}

interface Tracked {
  pid: number;
  ppid: number;
  startMs: number;
  sid: number | undefined;
  imageKey: string;
  comm: string;
  image: ProcImage | undefined;
  npm: boolean;
  // the script's shim: attributed, never reported as a process of its own
  root: boolean;
  script: LifecycleScript | undefined;
  // from the environment: the process had left the tree when we first saw it
  envScriptId: string | undefined;
  // events from before the script was known
  queue: EventInput[];
  endedAt: number | undefined;
  netns: string | undefined;
  sockets: Set<string>;
  opened: Set<string>;
}

interface Known {
  startMs: number;
  // environment read and not ours: its children need no look either
  envRejected: boolean;
}

export interface OpenedBy {
  script: LifecycleScript;
  pid: number;
  at: number;
}

export interface TrackerCounts {
  processesSeen: number;
  connectionsSeen: number;
}

// how many polls a socket may stay in no table / unconnected before we stop asking
const SOCKET_TRIES = 5;
// how long an unattributed process that ended waits for its script's meta
const PENDING_TTL_MS = 30_000;
// paths remembered as opened by a tracked process (file event attribution)
const OPENED_CAP = 8192;

export class ProcessTracker {
  readonly counts: TrackerCounts = { processesSeen: 0, connectionsSeen: 0 };
  private readonly known = new Map<number, Known>();
  // alive tracked processes
  private readonly live = new Map<number, Tracked>();
  // every tracked process by pid, the latest holder of the pid (ancestry walks)
  private readonly records = new Map<number, Tracked>();
  // tracked, not yet attributed (alive, or ended and waiting for their meta)
  private readonly pending = new Set<Tracked>();
  private readonly sessions = new Map<string, { rootSid: number | undefined; reported: Set<number> }>();
  private readonly socketCache = new Map<string, Connection | null>();
  private readonly socketTries = new Map<string, number>();
  private readonly opened = new Map<string, OpenedBy>();
  private readonly now: () => number;
  private baselineMs: number | undefined;
  private npmSid: number | undefined;
  private lastPollAt: number | undefined;
  private fdScanDueAt = 0;

  constructor(
    private readonly source: ProcSource,
    private readonly options: TrackerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  // Whether anything besides npm is running in the trees we follow.
  get active(): boolean {
    for (const t of this.live.values()) if (!t.npm) return true;
    return false;
  }

  poll(): void {
    const now = this.now();
    const pids = this.source.pids();
    const present = new Set(pids);
    if (this.baselineMs === undefined) this.baseline(now);
    for (const [pid] of this.known) {
      if (present.has(pid)) continue;
      this.known.delete(pid);
      const t = this.live.get(pid);
      if (t) this.end(t, now);
    }
    for (const t of [...this.live.values()]) this.recheck(t, now);
    const fresh = new Map<number, ProcInfo>();
    for (const pid of pids) {
      if (this.known.has(pid)) continue;
      const info = this.source.info(pid);
      if (info) fresh.set(pid, info);
    }
    const done = new Set<number>();
    const visit = (info: ProcInfo): void => {
      if (done.has(info.pid)) return;
      done.add(info.pid);
      const parent = fresh.get(info.ppid);
      if (parent) visit(parent); // parents first: a child inherits their attribution
      this.discover(info, now);
    };
    for (const info of fresh.values()) visit(info);
    for (const t of [...this.pending]) this.attribute(t, now);
    if (now >= this.fdScanDueAt) {
      const t0 = performance.now();
      this.scanFds(now);
      this.fdScanDueAt = now + (this.options.fdScanFactor ?? 0) * (performance.now() - t0);
    }
    this.lastPollAt = now;
  }

  liveProcesses(): Array<{ script: LifecycleScript; process: ProcessRef }> {
    const out: Array<{ script: LifecycleScript; process: ProcessRef }> = [];
    for (const t of this.live.values()) if (t.script) out.push({ script: t.script, process: this.ref(t) });
    return out;
  }

  // Scripts with at least one live process (their shim or anything it started).
  liveScripts(): Set<LifecycleScript> {
    const out = new Set<LifecycleScript>();
    for (const t of this.live.values()) if (t.script) out.add(t.script);
    return out;
  }

  // Alive, attributed to a script, and the very process we tracked (its start time matches).
  isOurs(pid: number): boolean {
    const t = this.live.get(pid);
    if (!t?.script) return false;
    const info = this.source.info(pid);
    return info !== undefined && info.startMs === t.startMs && info.state !== 'Z' && info.state !== 'X';
  }

  // Whether the script's shim is known to be gone.
  rootEnded(script: LifecycleScript): boolean {
    return this.rootEndedAt(script) !== undefined;
  }

  // When the poller saw the script's root (its shim) go, if it has.
  rootEndedAt(script: LifecycleScript): number | undefined {
    const t = this.records.get(script.shimPid);
    return t?.root === true && t.script === script ? t.endedAt : undefined;
  }

  // The latest tracked process that had `path` open, if any.
  openedBy(path: string): OpenedBy | undefined {
    return this.opened.get(path);
  }

  // Live attributed processes whose working directory is `dir`.
  processesIn(dir: string): Array<{ script: LifecycleScript; process: ProcessRef; ancestry: number[] }> {
    const out: Array<{ script: LifecycleScript; process: ProcessRef; ancestry: number[] }> = [];
    for (const t of this.live.values()) if (t.script && !t.root && t.image?.cwd === dir) out.push({ script: t.script, process: this.ref(t), ancestry: this.ancestry(t) });
    return out;
  }

  // When the process now holding `pid` started (epoch ms), if there is one.
  startTimeOf(pid: number): number | undefined {
    return this.source.info(pid)?.startMs;
  }

  ancestryOf(pid: number): number[] {
    const t = this.records.get(pid);
    return t ? this.ancestry(t) : [];
  }

  refOf(pid: number): ProcessRef {
    const t = this.records.get(pid);
    return t ? this.ref(t) : { pid };
  }

  private baseline(now: number): void {
    const npm = this.source.info(this.options.npmPid);
    this.baselineMs = npm?.startMs ?? now;
    this.npmSid = npm?.sid;
  }

  // A process seen for the first time this poll.
  private discover(info: ProcInfo, now: number): void {
    const known: Known = { startMs: info.startMs, envRejected: false };
    this.known.set(info.pid, known);
    const parentKnown = this.known.get(info.ppid);
    const parentLive = this.live.get(info.ppid);
    const parent = parentLive && parentLive.startMs <= info.startMs ? parentLive : undefined;
    let envScriptId: string | undefined;
    if (info.pid !== this.options.npmPid && !parent) {
      if (!this.mayBeEscaped(info, parentKnown)) return;
      const env = this.source.environ(info.pid);
      if (env?.runDir !== this.options.runDir) {
        known.envRejected = true;
        return;
      }
      envScriptId = env.scriptId;
    }
    const t: Tracked = {
      pid: info.pid,
      ppid: info.ppid,
      startMs: info.startMs,
      sid: info.sid,
      imageKey: info.imageKey,
      comm: info.comm,
      image: undefined,
      npm: info.pid === this.options.npmPid,
      root: false,
      script: undefined,
      envScriptId: envScriptId ?? parent?.envScriptId,
      queue: [],
      endedAt: undefined,
      netns: undefined,
      sockets: new Set(),
      opened: new Set(),
    };
    this.live.set(t.pid, t);
    this.records.set(t.pid, t);
    if (t.npm) return;
    // a fork that has not exec'd yet runs its parent's image: strace reports no
    // start for it either, only for its exec
    if (parent?.image && info.imageKey !== '' && info.imageKey === parent.imageKey) {
      t.image = parent.image;
    } else {
      t.image = this.source.image(t.pid) ?? commImage(info.comm);
      // first seen late (after the previous poll): it started since then
      const ts = this.lastPollAt === undefined ? info.startMs : Math.min(now, Math.max(info.startMs, this.lastPollAt));
      t.queue.push(this.startInput(t, ts));
    }
    this.pending.add(t);
    if (info.state === 'Z' || info.state === 'X') this.end(t, now);
    else this.attribute(t, now);
  }

  // Could this process, not a child of one we track, be one of ours that left the tree?
  private mayBeEscaped(info: ProcInfo, parent: Known | undefined): boolean {
    if (this.baselineMs === undefined || info.startMs < this.baselineMs) return false; // older than npm
    if (info.ppid === 2 || info.pid === 2) return false; // kernel threads
    return !parent?.envRejected; // its parent's environment was not ours: neither is its own
  }

  // A tracked process seen again: exited, exec'd, left its session?
  private recheck(t: Tracked, now: number): void {
    const info = this.source.info(t.pid);
    if (!info || info.startMs !== t.startMs) {
      // gone between readdir and read, or the pid was reused
      this.end(t, now);
      if (info) this.known.delete(t.pid);
      return;
    }
    if (info.state === 'Z' || info.state === 'X') return this.end(t, now);
    if (t.npm) return;
    const execd = info.imageKey !== '' ? info.imageKey !== t.imageKey : info.comm !== t.comm;
    t.imageKey = info.imageKey;
    t.comm = info.comm;
    if (execd) {
      t.image = this.source.image(t.pid) ?? commImage(info.comm);
      // the shim, seen as npm's fork before it exec'd: ours, not the script's
      if (!t.root) this.out(t, this.startInput(t, now));
    }
    if (info.sid !== t.sid) {
      t.sid = info.sid;
      this.checkSession(t, now);
    }
  }

  private startInput(t: Tracked, ts: number): EventInput {
    const ref = this.ref(t);
    const image = t.image ?? commImage(t.comm);
    return { kind: 'process-start', ts, process: { ...ref, executable: image.executable, name: basename(image.executable), args: image.args } };
  }

  private attribute(t: Tracked, now: number): void {
    if (t.script) return this.unpend(t);
    if (t.endedAt !== undefined && now - t.endedAt > PENDING_TTL_MS) return this.unpend(t);
    const asRoot = this.options.scriptByRootPid(t.pid);
    if (asRoot && asRoot.shimPid === t.pid && (asRoot.endedAt === undefined || t.startMs <= asRoot.endedAt)) {
      t.root = true;
      t.script = asRoot;
      t.queue = t.queue.filter((e) => e.kind !== 'process-start'); // the shim itself is ours
      this.sessionOf(asRoot).rootSid ??= t.sid;
    } else {
      const parent = this.records.get(t.ppid);
      if (parent?.script && parent.startMs <= t.startMs && !parent.npm) t.script = parent.script;
      else if (t.envScriptId !== undefined) t.script = this.options.scriptById(t.envScriptId);
    }
    if (!t.script) return;
    this.unpend(t);
    this.counts.processesSeen++;
    const queued = t.queue;
    t.queue = [];
    for (const input of queued) this.out(t, input);
    this.checkSession(t, now);
  }

  private unpend(t: Tracked): void {
    this.pending.delete(t);
  }

  // setsid(): a process in a session other than its script's. Reported once per
  // session, on the first of its processes we see (the one that called setsid,
  // unless it was gone before we looked).
  private checkSession(t: Tracked, now: number): void {
    if (!t.script || t.root || t.sid === undefined) return;
    const session = this.sessionOf(t.script);
    const scriptSid = session.rootSid ?? this.npmSid;
    if (scriptSid === undefined || t.sid === scriptSid || session.reported.has(t.sid)) return;
    session.reported.add(t.sid);
    this.out(t, { kind: 'process-detach', ts: now, process: this.ref(t) });
  }

  private sessionOf(script: LifecycleScript): { rootSid: number | undefined; reported: Set<number> } {
    let s = this.sessions.get(script.id);
    if (!s) {
      s = { rootSid: undefined, reported: new Set() };
      this.sessions.set(script.id, s);
    }
    return s;
  }

  private end(t: Tracked, now: number): void {
    if (t.endedAt !== undefined) return;
    t.endedAt = now;
    this.live.delete(t.pid);
    if (t.npm) return;
    this.out(t, { kind: 'process-end', ts: now, process: { ...this.ref(t), uptime_ms: Math.max(0, now - t.startMs) } });
  }

  // Open files and sockets of every attributed process: credential files held
  // open, new connections.
  private scanFds(now: number): void {
    const targets = [...this.live.values()].filter((t) => t.script && !t.root);
    if (targets.length === 0) return;
    const fds = this.source.fds(targets.map((t) => t.pid));
    const unresolved = new Map<string, { pid: number; ids: Set<string>; waiting: Array<[Tracked, string]> }>();
    for (const t of targets) {
      const f = fds.get(t.pid);
      if (!f || !t.script) continue;
      for (const path of f.files) {
        this.opened.delete(path);
        this.opened.set(path, { script: t.script, pid: t.pid, at: now });
        if (isSensitivePath(path) && !t.opened.has(path)) {
          t.opened.add(path);
          this.out(t, { kind: 'sensitive-read', ts: now, outcome: 'success', process: this.ref(t), file: { path }, syscall: { name: 'open' } });
        }
      }
      for (const id of f.sockets) {
        if (t.sockets.has(id)) continue;
        t.netns ??= this.source.netns(t.pid);
        const cached = this.socketCache.get(`${t.netns}|${id}`);
        if (cached !== undefined) {
          this.onSocket(t, id, cached, now);
          continue;
        }
        const group = unresolved.get(t.netns) ?? { pid: t.pid, ids: new Set<string>(), waiting: [] };
        group.ids.add(id);
        group.waiting.push([t, id]);
        unresolved.set(t.netns, group);
      }
    }
    while (this.opened.size > OPENED_CAP) this.opened.delete(this.opened.keys().next().value as string);
    for (const [netns, group] of unresolved) {
      const resolved = this.source.connections(group.pid, group.ids);
      for (const id of group.ids) {
        const key = `${netns}|${id}`;
        const r = resolved.get(id);
        if (r !== undefined) {
          this.socketCache.set(key, r);
          continue;
        }
        const tries = (this.socketTries.get(key) ?? 0) + 1;
        this.socketTries.set(key, tries);
        if (tries >= SOCKET_TRIES) this.socketCache.set(key, null);
      }
      for (const [t, id] of group.waiting) {
        const r = this.socketCache.get(`${netns}|${id}`);
        if (r !== undefined) this.onSocket(t, id, r, now);
      }
    }
  }

  private onSocket(t: Tracked, id: string, c: Connection | null, now: number): void {
    t.sockets.add(id);
    if (!c || c.inbound) return;
    this.counts.connectionsSeen++;
    this.out(t, {
      kind: 'network-connect',
      ts: now,
      outcome: c.state === 'SYN_SENT' ? 'unknown' : 'success',
      process: this.ref(t),
      destination: { ip: c.remote.ip, port: c.remote.port, address: c.remote.ip },
      network: { transport: c.transport, type: c.family },
      syscall: { name: 'connect', result: c.state },
    });
  }

  private ref(t: Tracked): ProcessRef {
    const ref: ProcessRef = { pid: t.pid, parent: { pid: t.ppid } };
    if (t.image) {
      ref.executable = t.image.executable;
      ref.name = basename(t.image.executable);
      ref.args = t.image.args;
      if (t.image.cwd !== undefined) ref.working_directory = t.image.cwd;
    }
    return ref;
  }

  // pids from the parent up to the script's shim; a process attributed by its
  // environment (reparented) gets just the shim
  private ancestry(t: Tracked): number[] {
    if (t.root || !t.script) return [];
    const chain: number[] = [];
    let child = t;
    for (let cur = this.records.get(t.ppid); cur && chain.length < 64 && !chain.includes(cur.pid); cur = this.records.get(cur.ppid)) {
      if (cur.script !== t.script || cur.startMs > child.startMs) break;
      chain.push(cur.pid);
      if (cur.root) return chain;
      child = cur;
    }
    chain.push(t.script.shimPid);
    return chain;
  }

  private out(t: Tracked, input: EventInput): void {
    if (!t.script) {
      t.queue.push(input);
      return;
    }
    this.options.emit(buildEvent(input, scriptAttribution(t.script, this.ancestry(t))));
  }
}

// What a process is called when its argv can't be read (a zombie, a process
// gone between readdir and read): its kernel name, truncated to 15 bytes.
function commImage(comm: string): ProcImage {
  return { executable: comm, args: [comm] };
}
