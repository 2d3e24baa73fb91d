// Preload records -> the normalized events the strace tracer produces for the
// same actions, so the same rules fire. Pure: a record, what is known about its
// process and the names resolved so far in, event inputs out.
import { constants } from 'node:fs';
import { isIP } from 'node:net';
import { basename, dirname } from 'node:path';
import { buildEvent, scriptAttribution, type EventInput } from '../../events/build.js';
import { isSensitivePath } from '../../events/sensitive-paths.js';
import type { GuardedEvent, LifecycleScript, ProcessRef } from '../../events/types.js';
import type { ConnectRecord, DnsRecord, MkdirRecord, PreloadRecord, SpawnRecord, StartRecord } from './records.js';

// What a process's `start` record said about it.
export interface ProcessInfo {
  executable: string;
  args: string[];
  cwd: string;
  startedAt: number;
}

export interface RecordContext {
  self?: ProcessInfo;
  // a hostname the ip was resolved from, for connects by address
  domainFor?: (ip: string) => string | undefined;
}

// A synchronous spawn (spawnSync, execSync, execFileSync) has no pid in its record.
export const UNKNOWN_PID = 0;

// node's string flags (lib/internal/fs/utils.js stringToFlags) as open(2) flags
const STRING_FLAGS: Readonly<Record<string, readonly string[]>> = (() => {
  const table: Record<string, string[]> = {};
  const add = (names: string[], flags: string[]) => {
    for (const n of names) table[n] = flags;
  };
  add(['r'], ['O_RDONLY']);
  add(['rs', 'sr'], ['O_RDONLY', 'O_SYNC']);
  add(['r+'], ['O_RDWR']);
  add(['rs+', 'sr+'], ['O_RDWR', 'O_SYNC']);
  add(['w'], ['O_WRONLY', 'O_CREAT', 'O_TRUNC']);
  add(['wx', 'xw'], ['O_WRONLY', 'O_CREAT', 'O_TRUNC', 'O_EXCL']);
  add(['w+'], ['O_RDWR', 'O_CREAT', 'O_TRUNC']);
  add(['wx+', 'xw+'], ['O_RDWR', 'O_CREAT', 'O_TRUNC', 'O_EXCL']);
  add(['a'], ['O_WRONLY', 'O_CREAT', 'O_APPEND']);
  add(['ax', 'xa'], ['O_WRONLY', 'O_CREAT', 'O_APPEND', 'O_EXCL']);
  add(['as', 'sa'], ['O_WRONLY', 'O_CREAT', 'O_APPEND', 'O_SYNC']);
  add(['a+'], ['O_RDWR', 'O_CREAT', 'O_APPEND']);
  add(['ax+', 'xa+'], ['O_RDWR', 'O_CREAT', 'O_APPEND', 'O_EXCL']);
  add(['as+', 'sa+'], ['O_RDWR', 'O_CREAT', 'O_APPEND', 'O_SYNC']);
  return table;
})();

// numeric flags are this host's open(2) flags: the preload ran here
const BIT_FLAGS = ['O_CREAT', 'O_EXCL', 'O_TRUNC', 'O_APPEND', 'O_SYNC', 'O_DSYNC', 'O_NOFOLLOW', 'O_DIRECTORY', 'O_NONBLOCK', 'O_NOCTTY'] as const;

export function openFlags(flags: string | number): string[] {
  if (typeof flags === 'string') return [...(STRING_FLAGS[flags] ?? [])];
  const c = constants as Record<string, number | undefined>;
  const access = flags & ((c.O_WRONLY ?? 1) | (c.O_RDWR ?? 2));
  const out = [access === c.O_RDWR ? 'O_RDWR' : access === c.O_WRONLY ? 'O_WRONLY' : 'O_RDONLY'];
  for (const name of BIT_FLAGS) {
    const bit = c[name];
    if (bit !== undefined && bit !== 0 && (flags & bit) === bit) out.push(name);
  }
  return out;
}

function selfRef(r: PreloadRecord, self: ProcessInfo | undefined): ProcessRef {
  const ref: ProcessRef = { pid: r.pid };
  if (r.ppid > 0) ref.parent = { pid: r.ppid };
  if (self) {
    ref.executable = self.executable;
    ref.name = basename(self.executable);
    ref.args = self.args;
    ref.working_directory = self.cwd;
  }
  return ref;
}

// argv as the kernel saw it: /proc's word, else rebuilt (node's own options
// come before the script, whose path process.argv has made absolute).
export function startInfo(r: StartRecord): ProcessInfo {
  return { executable: r.exe, args: r.cmdline ?? [r.argv0, ...r.execArgv, ...r.argv.slice(1)], cwd: r.cwd, startedAt: r.t };
}

// A resolver as dns.getServers() prints it: `1.1.1.1`, `1.1.1.1:5353`, `[::1]:53`, `::1`.
export function parseServer(server: string): { ip: string; port: number } | undefined {
  if (isIP(server)) return { ip: server, port: 53 };
  const m = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(server) ?? /^([0-9.]+):(\d{1,5})$/.exec(server);
  if (!m?.[1] || !isIP(m[1])) return undefined;
  const port = m[2] === undefined ? 53 : Number(m[2]);
  return port <= 65535 ? { ip: m[1], port } : undefined;
}

// The directories a mkdir made, top first.
function madeDirs(r: MkdirRecord): string[] {
  if (r.prefix || !r.recursive) return [r.path];
  if (r.existed) return [];
  if (!r.first || r.first === r.path) return [r.path];
  const dirs: string[] = [];
  for (let p = r.path; dirs.length < 64; p = dirname(p)) {
    dirs.unshift(p);
    if (p === r.first) return dirs;
    if (p === dirname(p)) break;
  }
  return [r.first, r.path]; // `first` is not above `path`: report both as said
}

function spawnInputs(r: SpawnRecord): EventInput[] {
  if (r.error !== undefined) return []; // like a failed execve: nothing ran
  const executable = r.exe ?? r.file;
  const child = r.child ?? UNKNOWN_PID;
  const process = { pid: child, parent: { pid: r.pid }, executable, name: basename(executable), args: r.args, working_directory: r.cwd };
  const out: EventInput[] = [{ kind: 'process-start', ts: r.t, process }];
  // detached: node's child calls setsid(), as strace would show
  if (r.detached) out.push({ kind: 'process-detach', ts: r.t, process });
  return out;
}

function connectInputs(r: ConnectRecord, process: ProcessRef, ctx: RecordContext): EventInput[] {
  if (r.transport === 'unix') {
    const path = r.path ?? '';
    return [{ kind: 'network-connect', ts: r.t, outcome: r.error ? 'failure' : 'unknown', process, destination: { address: path }, network: { transport: 'unix' }, syscall: { name: 'connect', result: r.error ?? 'EINPROGRESS' } }];
  }
  const ip = r.ip;
  const named = r.host !== undefined && isIP(r.host) === 0 ? r.host : undefined;
  const domain = named ?? (ip !== undefined ? ctx.domainFor?.(ip) : undefined);
  const family = r.family ?? (ip !== undefined && isIP(ip) === 6 ? 6 : 4);
  const destination = { ...(ip !== undefined ? { ip } : {}), port: r.port ?? 0, address: ip ?? r.host ?? '', ...(domain !== undefined ? { domain } : {}) };
  // tcp: written at the attempt, what strace shows for node's non-blocking connect()
  const udp = r.transport === 'udp';
  const result = r.error ?? (udp ? 'ok' : 'EINPROGRESS');
  return [{
    kind: 'network-connect',
    ts: r.t,
    outcome: r.error ? 'failure' : udp ? 'success' : 'unknown',
    process,
    destination,
    network: { transport: r.transport, type: family === 6 ? 'ipv6' : 'ipv4' },
    syscall: { name: udp && r.call === 'dgram.send' ? 'sendto' : 'connect', result },
  }];
}

function dnsInputs(r: DnsRecord, process: ProcessRef): EventInput[] {
  const server = r.servers?.[0] !== undefined ? parseServer(r.servers[0]) : undefined;
  const destination = server ? { ip: server.ip, port: server.port, address: server.ip } : { address: '' };
  return [{ kind: 'dns-query', ts: r.t, outcome: r.error ? 'failure' : 'success', process, dns: { question: { name: r.host } }, destination }];
}

// The event inputs one record stands for. File changes that failed are dropped,
// as the strace tracer drops failed syscalls; reads of credential files are
// kept either way (trying is the signal).
export function recordToInputs(r: PreloadRecord, ctx: RecordContext = {}): EventInput[] {
  const process = selfRef(r, ctx.self);
  const name = r.call ?? r.op;
  const failed = r.error !== undefined;
  switch (r.op) {
    case 'start': {
      const info = startInfo(r);
      return [{ kind: 'process-start', ts: r.t, process: { ...process, executable: info.executable, name: basename(info.executable), args: info.args, working_directory: info.cwd } }];
    }
    case 'spawn':
      return spawnInputs(r);
    case 'connect':
      return connectInputs(r, process, ctx);
    case 'dns':
      return dnsInputs(r, process);
    case 'unlink':
      return failed ? [] : [{ kind: 'file-delete', ts: r.t, process, file: { path: r.path, type: 'file' }, syscall: { name } }];
    case 'rmdir':
      return failed ? [] : [{ kind: 'file-delete', ts: r.t, process, file: { path: r.path, type: 'dir' }, syscall: { name } }];
    case 'rm':
      return failed ? [] : [{ kind: 'file-delete', ts: r.t, process, file: { path: r.path, type: (r.dir ?? r.recursive) ? 'dir' : 'file' }, syscall: { name } }];
    case 'rename':
      return failed ? [] : [{ kind: 'file-rename', ts: r.t, process, file: { path: r.to }, syscall: { name, source_path: r.from } }];
    case 'write':
      return failed ? [] : [{ kind: 'file-write', ts: r.t, process, file: { path: r.path }, syscall: { name, flags: openFlags(r.flags) } }];
    case 'truncate':
      return failed ? [] : [{ kind: 'file-write', ts: r.t, process, file: { path: r.path }, syscall: { name, flags: ['O_TRUNC'] } }];
    case 'symlink':
    case 'link':
      return failed ? [] : [{ kind: 'file-link', ts: r.t, process, file: { path: r.path, target_path: r.target }, syscall: { name } }];
    case 'mkdir':
      return failed ? [] : madeDirs(r).map((path) => ({ kind: 'dir-create', ts: r.t, process, file: { path, type: 'dir' }, syscall: { name } }));
    case 'read':
      return isSensitivePath(r.path) ? [{ kind: 'sensitive-read', ts: r.t, outcome: failed ? 'failure' : 'success', process, file: { path: r.path }, syscall: { name } }] : [];
    case 'exit': {
      const uptime = ctx.self ? { uptime_ms: Math.max(0, Math.round(r.t - ctx.self.startedAt)) } : {};
      return [{ kind: 'process-end', ts: r.t, process: { ...process, exit_code: r.code, ...uptime } }];
    }
    case 'chmod':
      return []; // no event kind for mode changes yet (strace does not trace chmod either)
  }
}

// The events of one record, attributed to its script. `ancestry` is the
// record's process's chain of parents (default: its ppid); a spawned child's
// chain starts at the record's process.
export function recordToEvents(r: PreloadRecord, script: LifecycleScript, ctx: RecordContext & { ancestry?: number[] } = {}): GuardedEvent[] {
  const ancestry = ctx.ancestry ?? (r.ppid > 0 ? [r.ppid] : []);
  return recordToInputs(r, ctx).map((input) => buildEvent(input, scriptAttribution(script, input.process.pid === r.pid ? ancestry : [r.pid, ...ancestry])));
}
