// Parsers for the /proc/<pid> files the proc tracer reads. Pure: text in,
// fields out. The text is untrusted (a process names itself), so nothing here
// assumes a well-formed line.

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  sid: number;
  // clock ticks since boot
  startTicks: number;
  // Changes on every execve (new code, stack and argv addresses; ASLR) and not
  // on fork or on a rename of the process title: '' when the kernel hides the
  // fields (no PTRACE_MODE_READ access) or the process has no memory (zombie).
  imageKey: string;
}

// fields counted from 1 as in proc(5); `after` holds field 3 onwards
const FIELD = { state: 3, ppid: 4, sid: 6, starttime: 22, startcode: 26, endcode: 27, startstack: 28, argStart: 48, argEnd: 49 } as const;

// `/proc/<pid>/stat`: `pid (comm) state ppid ...`. comm may hold spaces and
// parentheses, so it runs from the first `(` to the LAST `)`.
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf(' (');
  const close = text.lastIndexOf(')');
  if (open <= 0 || close < open) return undefined;
  const pidText = text.slice(0, open);
  if (!/^\d+$/.test(pidText)) return undefined;
  const pid = Number(pidText);
  const after = text.slice(close + 2).trim().split(' ');
  const field = (n: number): string => after[n - 3] ?? '';
  const num = (n: number): number => (/^-?\d+$/.test(field(n)) ? Number(field(n)) : NaN);
  const ppid = num(FIELD.ppid);
  const sid = num(FIELD.sid);
  const startTicks = num(FIELD.starttime);
  const state = field(FIELD.state);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(ppid) || !Number.isInteger(sid) || !Number.isFinite(startTicks) || state.length !== 1) return undefined;
  const image = [FIELD.startcode, FIELD.endcode, FIELD.startstack, FIELD.argStart, FIELD.argEnd].map(field);
  return {
    pid,
    comm: text.slice(open + 2, close),
    state,
    ppid,
    sid,
    startTicks,
    imageKey: image.every((f) => f === '0' || f === '') ? '' : image.join(':'),
  };
}

// `/proc/uptime`: seconds since boot (the clock process start times count on).
export function parseUptime(text: string): number | undefined {
  const seconds = Number(text.split(' ')[0]);
  return Number.isFinite(seconds) ? seconds : undefined;
}

// `/proc/<pid>/cmdline`: NUL-separated argv, usually NUL-terminated.
export function parseCmdline(text: string): string[] {
  const args = text.split('\0');
  if (args.at(-1) === '') args.pop();
  return args;
}

// The values of `keys` in a NUL-separated `/proc/<pid>/environ`.
export function parseEnvironVars(text: string, keys: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    if (keys.includes(key) && !out.has(key)) out.set(key, entry.slice(eq + 1));
  }
  return out;
}

export type FdTarget =
  | { kind: 'socket'; inode: number }
  | { kind: 'file'; path: string; deleted: boolean }
  | { kind: 'other'; text: string };

const DELETED = ' (deleted)';

// A `/proc/<pid>/fd/<n>` link: `socket:[123]`, `/abs/path`, `/abs/path (deleted)`,
// `pipe:[9]`, `anon_inode:[eventfd]`, ...
export function parseFdLink(link: string): FdTarget {
  const socket = /^socket:\[(\d+)\]$/.exec(link);
  if (socket?.[1]) return { kind: 'socket', inode: Number(socket[1]) };
  if (link.startsWith('/')) {
    const deleted = link.endsWith(DELETED);
    return { kind: 'file', path: deleted ? link.slice(0, -DELETED.length) : link, deleted };
  }
  return { kind: 'other', text: link };
}

// `/proc/<pid>/exe` of a program deleted after it started still names it.
export function stripDeleted(path: string): string {
  return path.endsWith(DELETED) ? path.slice(0, -DELETED.length) : path;
}
