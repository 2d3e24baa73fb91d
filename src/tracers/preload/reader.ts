// Follows the .preload files node processes write into the run directory and
// turns their records into events, incrementally: each scan() reads only what
// was appended since the last one. Keeps what the strace assembler keeps for
// the same purpose: each process's identity and parent, and which names
// resolved to which addresses.
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { GuardedEvent, LifecycleScript } from '../../events/types.js';
import { recordToEvents, startInfo, UNKNOWN_PID, type ProcessInfo } from './events.js';
import { MAX_LINE, parsePreloadLine, type ConnectRecord, type PreloadRecord } from './records.js';

const FILE_NAME = /^([A-Za-z0-9_-]{1,64})\.([0-9]{1,10})\.preload$/;
const CHUNK = 1 << 16;
// per file and scan: a flooding script cannot hold the reader up
const SCAN_BUDGET = 1 << 22;
const MAX_HELD_PER_SCRIPT = 50_000;
const MAX_NAMES = 10_000;
const MAX_PENDING_UDP = 256;
const MAX_FILES = 10_000;

interface Tail {
  scriptId: string;
  pid: number;
  fd: number; // -1: not a regular file, ignored
  offset: number;
  decoder: StringDecoder;
  partial: string;
  skipping: boolean; // inside an over-long line: drop up to its newline
  order: number; // latest t in this file so far: the sort key keeps file order
}

interface Proc {
  ppid: number;
  info?: ProcessInfo;
}

export interface PreloadReaderStats {
  files: number;
  lines: number;
  records: number;
  rejected: number;
  events: number;
  dropped: number;
}

export interface PreloadReaderOptions {
  // a process another source (the process poller) already reported: its
  // process-start is not emitted again; its identity is still used
  alreadyStarted?: (pid: number) => boolean;
}

export class PreloadReader {
  readonly stats: PreloadReaderStats = { files: 0, lines: 0, records: 0, rejected: 0, events: 0, dropped: 0 };
  private readonly tails = new Map<string, Tail>();
  private readonly held = new Map<string, PreloadRecord[]>();
  private readonly procs = new Map<number, Proc>();
  private readonly started = new Set<number>();
  private readonly pids = new Set<number>();
  private readonly names = new Map<string, string>(); // ip -> hostname
  private readonly addresses = new Map<string, string>(); // hostname -> ip
  private readonly pendingUdp: Array<{ record: ConnectRecord; script: LifecycleScript }> = [];
  private finished = false;
  // records read in this scan, handled in time order once every file is read
  private batch: Array<{ record: PreloadRecord; order: number }> = [];

  constructor(
    private readonly runDir: string,
    private readonly scriptFor: (id: string) => LifecycleScript | undefined,
    private readonly emit: (event: GuardedEvent) => void,
    private readonly options: PreloadReaderOptions = {},
  ) {}

  // Reads what was appended to every .preload file since the last scan.
  scan(): void {
    if (this.finished) return;
    this.releaseHeld();
    let names: string[];
    try {
      names = readdirSync(this.runDir);
    } catch {
      return;
    }
    for (const name of names) {
      let tail = this.tails.get(name);
      if (!tail) {
        const m = FILE_NAME.exec(name);
        if (!m || this.tails.size >= MAX_FILES) continue;
        tail = this.open(name, m[1] ?? '', Number(m[2]));
        this.tails.set(name, tail);
      }
      if (tail.fd >= 0) this.read(tail);
    }
    this.handleBatch();
  }

  // Last scan; releases what can be released, closes the files.
  finish(): void {
    if (this.finished) return;
    this.scan();
    for (const tail of this.tails.values()) {
      if (tail.fd >= 0 && !tail.skipping) {
        const rest = tail.partial + tail.decoder.end();
        if (rest.trim() !== '') this.line(tail, rest);
      }
    }
    this.handleBatch();
    this.releaseHeld();
    for (const records of this.held.values()) this.stats.dropped += records.length;
    this.held.clear();
    for (const { record, script } of this.pendingUdp.splice(0)) this.out(record, script);
    for (const tail of this.tails.values()) {
      if (tail.fd >= 0) closeSync(tail.fd);
      tail.fd = -1;
    }
    this.finished = true;
  }

  // The name node resolved to this address, if a script did.
  hostnameFor(ip: string): string | undefined {
    return this.names.get(ip);
  }

  // Every pid the preload saw: node processes that wrote records and the
  // children they spawned.
  seenPids(): Set<number> {
    return new Set(this.pids);
  }

  private open(name: string, scriptId: string, pid: number): Tail {
    const tail: Tail = { scriptId, pid, fd: -1, offset: 0, decoder: new StringDecoder('utf8'), partial: '', skipping: false, order: 0 };
    try {
      // a planted fifo or symlink must not block or redirect the reader
      const fd = openSync(join(this.runDir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      if (fstatSync(fd).isFile()) {
        tail.fd = fd;
        this.stats.files++;
      } else closeSync(fd);
    } catch {
      // vanished or not ours to read
    }
    return tail;
  }

  private read(tail: Tail): void {
    const buf = Buffer.allocUnsafe(CHUNK);
    let budget = SCAN_BUDGET;
    while (budget > 0) {
      let n: number;
      try {
        n = readSync(tail.fd, buf, 0, CHUNK, tail.offset);
      } catch {
        return;
      }
      if (n <= 0) return;
      tail.offset += n;
      budget -= n;
      this.push(tail, tail.decoder.write(buf.subarray(0, n)));
    }
  }

  private push(tail: Tail, text: string): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (tail.skipping) {
        tail.skipping = false;
        tail.partial = '';
        continue;
      }
      const line = tail.partial + piece;
      tail.partial = '';
      this.line(tail, line);
    }
    if (tail.skipping) return;
    tail.partial += text.slice(start);
    if (tail.partial.length > MAX_LINE) {
      this.stats.rejected++;
      tail.partial = '';
      tail.skipping = true;
    }
  }

  private line(tail: Tail, text: string): void {
    this.stats.lines++;
    const record = parsePreloadLine(text);
    // a record names the file it belongs in; anything else was planted
    if (!record || record.script !== tail.scriptId || record.pid !== tail.pid) {
      if (text.trim() !== '') this.stats.rejected++;
      return;
    }
    this.stats.records++;
    this.learn(record);
    tail.order = Math.max(tail.order, record.t);
    this.batch.push({ record, order: tail.order });
  }

  // Processes write their files independently: across files, time order is
  // what puts a parent's spawn before its child's first record. Within a file
  // the written order stands (a record's t is when its call began: an rm is
  // written after the unlinks it made).
  private handleBatch(): void {
    const batch = this.batch;
    this.batch = [];
    batch.sort((a, b) => a.order - b.order);
    for (const { record } of batch) {
      const script = this.scriptFor(record.script);
      if (!script) {
        this.hold(record);
        continue;
      }
      const queue = this.held.get(record.script);
      if (queue) {
        this.held.delete(record.script);
        for (const r of queue) this.handle(r, script);
      }
      this.handle(record, script);
    }
  }

  private hold(record: PreloadRecord): void {
    const queue = this.held.get(record.script) ?? [];
    if (queue.length >= MAX_HELD_PER_SCRIPT) {
      this.stats.dropped++;
      return;
    }
    queue.push(record);
    this.held.set(record.script, queue);
  }

  private releaseHeld(): void {
    for (const [id, records] of this.held) {
      const script = this.scriptFor(id);
      if (!script) continue;
      this.held.delete(id);
      for (const record of records) this.handle(record, script);
    }
  }

  // Facts that do not wait for the script or the end of the scan: process
  // tree, names, pids.
  private learn(r: PreloadRecord): void {
    this.pids.add(r.pid);
    const proc = this.procs.get(r.pid) ?? { ppid: r.ppid };
    // a worker thread's start record repeats the process's, with its own argv
    if (r.op === 'start' && (r.thread === undefined || !proc.info)) {
      proc.ppid = r.ppid;
      proc.info = startInfo(r);
    }
    this.procs.set(r.pid, proc);
    if (r.op === 'spawn' && r.child !== undefined) {
      this.pids.add(r.child);
      if (!this.procs.has(r.child)) this.procs.set(r.child, { ppid: r.pid });
    }
    if (r.op === 'dns' && r.error === undefined) {
      for (const ip of r.addresses) this.remember(ip, r.host);
    }
    if (r.op === 'connect' && r.ip !== undefined && r.host !== undefined && r.host !== r.ip) this.remember(r.ip, r.host);
  }

  private remember(ip: string, host: string): void {
    if (this.names.size >= MAX_NAMES && !this.names.has(ip)) return;
    this.names.set(ip, host);
    if (this.addresses.size < MAX_NAMES || this.addresses.has(host)) this.addresses.set(host, ip);
  }

  // One process-start per pid, whichever record (or the poller) says it first.
  private isNew(pid: number): boolean {
    if (this.started.has(pid)) return false;
    this.started.add(pid);
    return !this.options.alreadyStarted?.(pid);
  }

  private handle(r: PreloadRecord, script: LifecycleScript): void {
    if (r.op === 'start') {
      // a worker thread is no new process
      if (r.thread !== undefined || !this.isNew(r.pid)) return;
    }
    if (r.op === 'spawn' && r.child !== undefined && !this.isNew(r.child)) {
      // still say it detached
      if (r.detached) this.out(r, script, (e) => e.kind === 'process-detach');
      return;
    }
    if (r.op === 'connect' && r.transport === 'udp' && r.ip === undefined && r.host !== undefined) {
      // a send to a name: dgram resolves it next, through dns.lookup
      const ip = this.addresses.get(r.host);
      if (ip === undefined && this.pendingUdp.length < MAX_PENDING_UDP) {
        this.pendingUdp.push({ record: r, script });
        return;
      }
      if (ip !== undefined) r = { ...r, ip };
    }
    this.out(r, script);
    if (r.op === 'dns') this.releaseUdp(r.host);
  }

  private releaseUdp(host: string): void {
    const ip = this.addresses.get(host);
    if (ip === undefined) return;
    for (let i = 0; i < this.pendingUdp.length; ) {
      const pending = this.pendingUdp[i];
      if (pending && pending.record.host === host) {
        this.pendingUdp.splice(i, 1);
        this.out({ ...pending.record, ip }, pending.script);
      } else i++;
    }
  }

  private out(r: PreloadRecord, script: LifecycleScript, keep: (e: GuardedEvent) => boolean = () => true): void {
    const self = this.procs.get(r.pid)?.info;
    const events = recordToEvents(r, script, {
      ...(self ? { self } : {}),
      ancestry: this.ancestry(r.pid, r.ppid),
      domainFor: (ip) => this.names.get(ip),
    });
    for (const event of events) {
      if ((event.process.pid === UNKNOWN_PID && event.kind !== 'process-start') || !keep(event)) continue;
      this.stats.events++;
      this.emit(event);
    }
  }

  // ppid, its parent, ... as far as preload records tell (a reused pid can loop)
  private ancestry(pid: number, ppid: number): number[] {
    const chain: number[] = [];
    let cur: number | undefined = ppid > 0 ? ppid : undefined;
    while (cur !== undefined && chain.length < 64 && cur !== pid && !chain.includes(cur)) {
      chain.push(cur);
      const up: number | undefined = this.procs.get(cur)?.ppid;
      cur = up !== undefined && up > 0 ? up : undefined;
    }
    return chain;
  }
}
