// Decoders for the syscalls that become file and network events. Pure: a call
// and the calling process's cwd and identity in, event inputs out. The process
// bookkeeping (forks, threads, exits) stays in the assembler.
import { isAbsolute, resolve } from 'node:path';
import type { EventInput } from '../../events/build.js';
import { isSensitivePath } from '../../events/sensitive-paths.js';
import type { ProcessRef } from '../../events/types.js';
import { decodeStringArg, decodeStringBytes, splitDecoration } from './line.js';
import { parseDnsQuestion, parseMessages, parseSocketDecoration, parseSockaddr, type SentMessage, type SocketAddress, type Transport } from './sockaddr.js';

// One complete syscall (an unfinished/resumed pair already joined).
export interface Call {
  tid: number;
  ts: number;
  name: string;
  args: string[];
  ret: string;
  errno?: string;
}

export interface CallContext {
  pid: number;
  cwd: string;
  ref: ProcessRef;
  // the file a path is a hard link to, when the script made that link: a
  // write or read through the link lands in (or comes from) that file
  alias?: (path: string) => string | undefined;
  // what a socket fd's decoration is (protocol, peer): see sockets.ts
  socket?: (decoration: string | undefined) => { transport: Transport; peer?: { ip: string; port: number } };
}

const WRITE_FLAGS = ['O_WRONLY', 'O_RDWR', 'O_CREAT', 'O_TRUNC', 'O_APPEND', 'O_TMPFILE'];

export const FILE_CALLS: ReadonlySet<string> = new Set(['open', 'creat', 'openat', 'openat2', 'unlink', 'rmdir', 'unlinkat', 'rename', 'renameat', 'renameat2', 'truncate', 'ftruncate', 'link', 'linkat', 'symlink', 'symlinkat', 'mkdir', 'mkdirat']);

// Absolute path of a path argument, relative to a dirfd decoration or the cwd.
export function argPath(cwd: string, dirfdArg: string | undefined, pathArg: string): string | undefined {
  const p = decodeStringArg(pathArg);
  if (p === undefined) return undefined;
  if (isAbsolute(p)) return p;
  const base = dirfdArg ? splitDecoration(dirfdArg).decoration : undefined;
  return resolve(base && isAbsolute(base) ? base : cwd, p);
}

export function decodeFileCall(call: Call, ok: boolean, ctx: CallContext): EventInput | undefined {
  const { args, ts } = call;
  const at = (i: number): string => args[i] ?? '';
  const path = (dirfd: string | undefined, arg: string): string | undefined => argPath(ctx.cwd, dirfd, arg);
  const process = ctx.ref;
  switch (call.name) {
    case 'open':
    case 'creat':
    case 'openat':
    case 'openat2':
      return decodeOpen(call, ok, ctx);
    case 'unlink':
    case 'rmdir':
    case 'unlinkat': {
      if (!ok) return undefined;
      const isAt = call.name === 'unlinkat';
      const file = isAt ? path(at(0), at(1)) : path(undefined, at(0));
      const dir = call.name === 'rmdir' || (isAt && at(2).includes('AT_REMOVEDIR'));
      return file ? { kind: 'file-delete', ts, process, file: { path: file, type: dir ? 'dir' : 'file' }, syscall: { name: call.name } } : undefined;
    }
    case 'rename':
    case 'renameat':
    case 'renameat2': {
      if (!ok) return undefined;
      const [from, to] = call.name === 'rename' ? [path(undefined, at(0)), path(undefined, at(1))] : [path(at(0), at(1)), path(at(2), at(3))];
      return from && to ? { kind: 'file-rename', ts, process, file: { path: to }, syscall: { name: call.name, source_path: from } } : undefined;
    }
    case 'truncate':
    case 'ftruncate': {
      if (!ok) return undefined;
      const named = call.name === 'truncate' ? path(undefined, at(0)) : splitDecoration(at(0)).decoration;
      const file = named === undefined ? undefined : (ctx.alias?.(named) ?? named);
      return file ? { kind: 'file-write', ts, process, file: { path: file }, syscall: { name: call.name, flags: ['O_TRUNC'] } } : undefined;
    }
    case 'link':
    case 'linkat':
    case 'symlink':
    case 'symlinkat': {
      if (!ok) return undefined;
      const [target, file] =
        call.name === 'link' ? [path(undefined, at(0)), path(undefined, at(1))]
        : call.name === 'linkat' ? [path(at(0), at(1)), path(at(2), at(3))]
        : call.name === 'symlink' ? [decodeStringArg(at(0)), path(undefined, at(1))]
        : [decodeStringArg(at(0)), path(at(1), at(2))];
      return file && target !== undefined ? { kind: 'file-link', ts, process, file: { path: file, target_path: target }, syscall: { name: call.name } } : undefined;
    }
    case 'mkdir':
    case 'mkdirat': {
      // tells files a script made apart from files the package shipped
      if (!ok) return undefined;
      const dir = call.name === 'mkdir' ? path(undefined, at(0)) : path(at(0), at(1));
      return dir ? { kind: 'dir-create', ts, process, file: { path: dir, type: 'dir' }, syscall: { name: call.name } } : undefined;
    }
    default:
      return undefined;
  }
}

function decodeOpen(call: Call, ok: boolean, ctx: CallContext): EventInput | undefined {
  const isAt = call.name === 'openat' || call.name === 'openat2';
  const pathArg = isAt ? call.args[1] : call.args[0];
  const flagText = call.name === 'creat' ? 'O_WRONLY|O_CREAT|O_TRUNC' : call.name === 'openat2' ? (/flags=([A-Z_|0-9x]+)/.exec(call.args[2] ?? '')?.[1] ?? '') : ((isAt ? call.args[2] : call.args[1]) ?? '');
  const flags = flagText.split('|');
  const writes = flags.some((f) => WRITE_FLAGS.includes(f));
  const requested = argPath(ctx.cwd, isAt ? call.args[0] : undefined, pathArg ?? '');
  const resolved = ok ? splitDecoration(call.ret).decoration : undefined;
  const opened = resolved ?? requested;
  if (!opened) return undefined;
  const path = ctx.alias?.(opened) ?? opened;
  if (writes) return ok ? { kind: 'file-write', ts: call.ts, process: ctx.ref, file: { path }, syscall: { name: call.name, flags: flags.filter((f) => f.startsWith('O_')) } } : undefined;
  // the name asked for counts too: ~/.npmrc may be a symlink to a dull path
  const sensitive = isSensitivePath(path) ? path : requested !== undefined && isSensitivePath(requested) ? requested : undefined;
  return sensitive ? { kind: 'sensitive-read', ts: call.ts, outcome: ok ? 'success' : 'failure', process: ctx.ref, file: { path: sensitive }, syscall: { name: call.name } } : undefined;
}

export function decodeConnect(call: Call, ctx: CallContext): EventInput | undefined {
  const addr = parseSockaddr(call.args[1] ?? '');
  if (!addr || addr.family === 'other') return undefined;
  const { transport } = describeSocket(call.args[0], ctx);
  const result = call.errno ?? (call.ret === '0' ? 'ok' : call.ret);
  // `= ?`: the process died inside connect(); EINTR/ERESTART*: the attempt goes on
  const pending = call.errno === undefined ? call.ret === '?' : /^(EINPROGRESS|EINTR|ERESTART)/.test(call.errno);
  const outcome = pending ? 'unknown' : call.errno === undefined ? 'success' : 'failure';
  return {
    kind: 'network-connect',
    ts: call.ts,
    outcome,
    process: ctx.ref,
    destination: destination(addr, ctx.cwd),
    network: { transport: addr.family === 'unix' ? 'unix' : transport, ...(addr.family !== 'unix' ? { type: addr.family } : {}) },
    syscall: { name: 'connect', result },
  };
}

// Unconnected UDP sends carry their destination; port 53 payloads are DNS
// queries. sendmmsg carries several messages, each with its own destination.
// `udpSeen` (per script) reports each process's UDP destination once.
export function decodeSend(call: Call, ctx: CallContext, udpSeen: Set<string>): EventInput[] {
  const messages: SentMessage[] = call.name === 'sendto'
    ? [{ name: call.args[4], payload: decodeStringBytes(call.args[1] ?? '') }]
    : parseMessages(call.args[1] ?? '');
  const peer = describeSocket(call.args[0], ctx);
  const reported = new Set<string>(); // resolvers send A and AAAA in one sendmmsg
  const out: EventInput[] = [];
  for (const message of messages) {
    const addr = message.name ? parseSockaddr(message.name) : undefined;
    const dest = addr?.ip !== undefined ? { ip: addr.ip, port: addr.port ?? 0 } : peer.peer;
    if (!dest) continue;
    const destinationFields = { ip: dest.ip, port: dest.port, address: dest.ip };
    const name = dest.port === 53 && message.payload ? parseDnsQuestion(message.payload) : undefined;
    if (name) {
      const key = `${name}|${dest.ip}`;
      if (!reported.has(key)) out.push({ kind: 'dns-query', ts: call.ts, process: ctx.ref, dns: { question: { name } }, destination: destinationFields });
      reported.add(key);
      continue;
    }
    if (!addr?.ip) continue; // connected socket: its connect() was already reported
    const key = `${ctx.pid}|${dest.ip}|${dest.port}`;
    if (udpSeen.has(key)) continue;
    udpSeen.add(key);
    out.push({
      kind: 'network-connect',
      ts: call.ts,
      outcome: 'success',
      process: ctx.ref,
      destination: destinationFields,
      network: { transport: peer.transport === 'unknown' ? 'udp' : peer.transport, type: addr.family === 'ipv6' ? 'ipv6' : 'ipv4' },
      syscall: { name: call.name, result: 'ok' },
    });
  }
  return out;
}

function describeSocket(fdArg: string | undefined, ctx: CallContext): { transport: Transport; peer?: { ip: string; port: number } } {
  const decoration = splitDecoration(fdArg ?? '').decoration;
  return ctx.socket ? ctx.socket(decoration) : parseSocketDecoration(decoration);
}

function destination(addr: SocketAddress, cwd: string): { ip?: string; port?: number; address: string } {
  // a relative socket path is relative to the cwd (`cd /var/run; connect docker.sock`)
  const path = addr.path ?? '';
  if (addr.family === 'unix') return { address: path === '' || path.startsWith('@') || isAbsolute(path) ? path : resolve(cwd, path) };
  return { ip: addr.ip ?? '', port: addr.port ?? 0, address: addr.ip ?? '' };
}

// Calls that reach another process: signals and ptrace.
export const SIGNAL_CALLS: ReadonlySet<string> = new Set(['kill', 'tkill', 'tgkill', 'pidfd_open']);

// kill(pid, sig), tkill(tid, sig), tgkill(tgid, tid, sig), pidfd_open(pid, flags):
// which pid (or group, when <= 0) a signal is meant for. pidfd_open is the first
// step of pidfd_send_signal, so it counts as aiming at its pid.
export function decodeSignalTarget(name: string, args: readonly string[]): { target: number; signal: string } | undefined {
  const num = (s: string | undefined): number | undefined => (s !== undefined && /^-?\d+$/.test(s) ? Number(s) : undefined);
  switch (name) {
    case 'kill':
    case 'tkill': {
      const target = num(args[0]);
      return target === undefined ? undefined : { target, signal: args[1] ?? '' };
    }
    case 'tgkill': {
      const target = num(args[0]);
      return target === undefined ? undefined : { target, signal: args[2] ?? '' };
    }
    case 'pidfd_open': {
      const target = num(args[0]);
      return target === undefined ? undefined : { target, signal: '(pidfd)' };
    }
    default:
      return undefined;
  }
}

// ptrace(PTRACE_TRACEME) / ptrace(PTRACE_ATTACH, 1234) / ptrace(PTRACE_SEIZE, 1234, ...):
// the requests a script makes to test for a tracer or to take over a process.
export function decodePtrace(args: readonly string[]): { request: string; target?: number } | undefined {
  const request = args[0] ?? '';
  if (request === 'PTRACE_TRACEME') return { request };
  if (request !== 'PTRACE_ATTACH' && request !== 'PTRACE_SEIZE') return undefined;
  const target = /^\d+$/.test(args[1] ?? '') ? Number(args[1]) : undefined;
  return target === undefined ? { request } : { request, target };
}

// /proc/<pid>/status (or a thread's /proc/<pid>/task/<tid>/status): where a
// process's TracerPid is. Opened paths come resolved (/proc/self -> /proc/<pid>).
export function procStatusPid(path: string): number | undefined {
  const m = /^\/proc\/(\d+)\/(?:task\/(\d+)\/)?status$/.exec(path);
  return m ? Number(m[2] ?? m[1]) : undefined;
}
