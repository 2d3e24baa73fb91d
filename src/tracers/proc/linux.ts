// The Linux backend of the proc tracer: everything from /proc, no ptrace, no
// child processes. Reads are sized to the question: a stat file per pid, a
// process's fd links, and the socket tables only for sockets not seen before.
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync } from 'node:fs';
import { endianness } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { hasRemote, isListening, parseNetTable } from './net.js';
import { parseCmdline, parseEnvironVars, parseFdLink, parseStat, parseUptime, stripDeleted } from './procfs.js';
import { RUN_DIR_VAR, SCRIPT_ID_VAR, type Connection, type OpenFds, type ProcImage, type ProcInfo, type ProcSource, type Resolved, type ScriptEnv } from './source.js';

// USER_HZ: 100 on every architecture Node runs on (alpha, at 1024, is not one)
const CLOCK_TICKS = 100;
const LITTLE_ENDIAN = endianness() === 'LE';
// smallest tables first: stop reading as soon as every socket is found
const TABLES = [['udp', 'udp'], ['udp6', 'udp'], ['tcp6', 'tcp'], ['tcp', 'tcp']] as const;

const small = Buffer.allocUnsafe(8192);

// A short /proc file (stat) without readFileSync's fstat and growing buffer.
function readSmall(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, small, 0, small.length, null);
    return small.toString('utf8', 0, n);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function link(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function realpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

// The name the program was run by, as strace's execve shows it: /proc's exe is
// the resolved file (/usr/bin/dash for sh, python3.11 for python3, busybox for
// wget), so argv[0] is used when it leads to that same file.
export function chooseExecutable(exe: string | undefined, argv0: string | undefined, cwd: string | undefined, resolveLink: (path: string) => string | undefined): string {
  if (exe === undefined) return argv0 ?? '';
  const real = stripDeleted(exe);
  if (!argv0 || real !== exe) return real;
  const candidate = isAbsolute(argv0) ? argv0 : argv0.includes('/') ? (cwd ? resolve(cwd, argv0) : undefined) : join(dirname(real), basename(argv0));
  return candidate !== undefined && candidate !== real && resolveLink(candidate) === real ? candidate : real;
}

export class LinuxSource implements ProcSource {
  private readonly bootMs: number;

  constructor() {
    this.bootMs = bootTime();
  }

  // This thread's time on CPU (schedstat: nanoseconds, exact), not the whole
  // process's: the supervisor's other threads (file watching, GC) are not the poll.
  cpuMs(): number {
    const ns = Number(readSmall('/proc/thread-self/schedstat')?.split(' ')[0]);
    if (Number.isFinite(ns) && ns > 0) return ns / 1e6;
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  }

  pids(): number[] {
    const out: number[] = [];
    for (const name of readdirSync('/proc')) {
      const c = name.charCodeAt(0);
      if (c >= 48 && c <= 57) out.push(Number(name));
    }
    return out;
  }

  info(pid: number): ProcInfo | undefined {
    const stat = parseStat(readSmall(`/proc/${pid}/stat`) ?? '');
    if (!stat || stat.pid !== pid) return undefined;
    return {
      pid,
      ppid: stat.ppid,
      sid: stat.sid,
      state: stat.state,
      comm: stat.comm,
      startMs: Math.round(this.bootMs + (stat.startTicks * 1000) / CLOCK_TICKS),
      imageKey: stat.imageKey,
    };
  }

  image(pid: number): ProcImage | undefined {
    const cmdline = read(`/proc/${pid}/cmdline`);
    if (cmdline === undefined || cmdline === '') return undefined; // gone, zombie or kernel thread
    const args = parseCmdline(cmdline);
    const cwd = link(`/proc/${pid}/cwd`);
    const executable = chooseExecutable(link(`/proc/${pid}/exe`), args[0], cwd, realpath);
    return { executable, args, ...(cwd !== undefined ? { cwd } : {}) };
  }

  environ(pid: number): ScriptEnv | undefined {
    const text = read(`/proc/${pid}/environ`);
    if (!text) return undefined;
    const vars = parseEnvironVars(text, [RUN_DIR_VAR, SCRIPT_ID_VAR]);
    const runDir = vars.get(RUN_DIR_VAR);
    const scriptId = vars.get(SCRIPT_ID_VAR);
    return runDir && scriptId ? { runDir, scriptId } : undefined;
  }

  fds(pids: readonly number[]): Map<number, OpenFds> {
    const out = new Map<number, OpenFds>();
    for (const pid of pids) {
      let names: string[];
      try {
        names = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      const fds: OpenFds = { sockets: [], files: [] };
      for (const name of names) {
        const target = link(`/proc/${pid}/fd/${name}`);
        if (target === undefined) continue;
        const fd = parseFdLink(target);
        if (fd.kind === 'socket') fds.sockets.push(String(fd.inode));
        else if (fd.kind === 'file' && !fd.path.startsWith('/dev/')) fds.files.push(fd.path);
      }
      out.set(pid, fds);
    }
    return out;
  }

  netns(pid: number): string {
    return link(`/proc/${pid}/ns/net`) ?? 'unknown';
  }

  connections(pid: number, ids: ReadonlySet<string>): Resolved {
    const out: Resolved = new Map();
    const remaining = new Set([...ids].map(Number));
    for (const [table, transport] of TABLES) {
      if (remaining.size === 0) break;
      const text = read(`/proc/${pid}/net/${table}`);
      if (text === undefined) continue;
      for (const row of parseNetTable(text, transport, LITTLE_ENDIAN, remaining)) {
        remaining.delete(row.inode);
        if (row.state === 'LISTEN') out.set(String(row.inode), null);
        if (!hasRemote(row)) continue; // not connected yet: ask again next poll
        const connection: Connection = {
          transport,
          family: row.family,
          local: row.local,
          remote: row.remote,
          state: row.state,
          inbound: transport === 'tcp' && isListening(text, row.local.port),
        };
        out.set(String(row.inode), connection);
      }
    }
    if (remaining.size > 0) for (const inode of unixSockets(read(`/proc/${pid}/net/unix`) ?? '', remaining)) out.set(String(inode), null);
    return out;
  }
}

// Boot time in epoch ms, to date processes by their start tick. /proc/uptime
// counts in 10 ms steps: read right as it steps it is exact, and any delay
// between the clock read and the uptime read only makes the estimate early,
// so the latest of a few steps is the best.
function bootTime(): number {
  const uptime = (): number | undefined => parseUptime(read('/proc/uptime') ?? '');
  let last = uptime();
  if (last === undefined) return Date.now() - process.uptime() * 1000;
  let best = Date.now() - last * 1000 - 10;
  let steps = 0;
  const until = performance.now() + 40;
  while (steps < 3 && performance.now() < until) {
    const now = Date.now();
    const u = uptime();
    if (u === undefined || u === last) continue;
    last = u;
    steps++;
    best = Math.max(best, now - u * 1000);
  }
  return best;
}

// Which of `inodes` are unix sockets (stdio socketpairs, dbus, ...): never connections.
function unixSockets(text: string, inodes: ReadonlySet<number>): number[] {
  const found: number[] = [];
  for (const inode of inodes) {
    // `Num RefCount Protocol Flags Type St Inode [Path]`
    const re = new RegExp(`^(?:\\S+[ \\t]+){6}${inode}(?:[ \\t]|$)`, 'm');
    if (re.test(text)) found.push(inode);
  }
  return found;
}
