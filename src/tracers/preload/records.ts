// The records preload/guarded-preload.cjs writes, one JSON object per line, to
// <run dir>/<script id>.<pid>.preload (one file per node process), and their
// parser. The files are written by the code being watched, so every line is
// untrusted: parsePreloadLine checks types and sizes and never throws.
//
// Every record: t (ms since epoch), pid, ppid, script (the script id),
// op, and optionally thread (a worker thread's id), call (the node API, e.g.
// `unlinkSync`, `promises.rename`, `net.connect`) and error (an error code such
// as `ENOENT`: the call was attempted and failed). Per op:
//   start     first line of every file: exe (process.execPath), argv0, argv,
//             execArgv, cwd, cmdline (argv as exec'd, from /proc/self/cmdline
//             where there is one); t is when the process started
//   spawn     file and args as node execs them (argv, incl. argv[0]; shell: true
//             is `/bin/sh -c ...`), cwd, exe (file resolved on PATH, when
//             found), detached, child (its pid). sync: spawnSync, execSync,
//             execFileSync, written before the call, without a child pid
//   connect   transport tcp|udp|unix; ip, port, family (4|6) for tcp/udp; host
//             when connecting by name (a udp send to a name may lack the ip);
//             path for unix sockets. Written at the attempt, before its outcome
//   dns       host, rrtype (resolve*; absent for getaddrinfo lookups),
//             addresses (the A/AAAA answers), servers (resolve*: the resolvers)
//   unlink    path
//   rmdir     path, recursive
//   rm        path, recursive, dir (the path was a directory before the call)
//   rename    from, to
//   write     path, flags (fs flags as passed: 'w', 'a+', or a number), source
//             (copyFile's source)
//   truncate  path
//   symlink   target (as written into the link), path
//   link      target, path
//   mkdir     path, recursive, first (the first directory a recursive mkdir
//             created), existed (recursive, nothing created), prefix (mkdtemp:
//             path is the directory made)
//   chmod     path, mode
//   read      path: reads outside node_modules of files that are not code
//   exit      code
// Paths are absolute (resolved against the process's cwd at the call).
import { isIP } from 'node:net';

interface Base {
  t: number;
  pid: number;
  ppid: number;
  script: string;
  thread?: number;
  call?: string;
  error?: string;
}

export interface StartRecord extends Base { op: 'start'; exe: string; argv0: string; argv: string[]; execArgv: string[]; cwd: string; cmdline?: string[] }
export interface SpawnRecord extends Base { op: 'spawn'; file: string; args: string[]; cwd: string; exe?: string; detached?: boolean; child?: number; sync?: boolean }
export interface ConnectRecord extends Base { op: 'connect'; transport: 'tcp' | 'udp' | 'unix'; ip?: string; port?: number; family?: 4 | 6; host?: string; path?: string }
export interface DnsRecord extends Base { op: 'dns'; host: string; rrtype?: string; addresses: string[]; servers?: string[] }
export interface PathRecord extends Base { op: 'unlink' | 'truncate' | 'read'; path: string }
export interface RmdirRecord extends Base { op: 'rmdir'; path: string; recursive?: boolean }
export interface RmRecord extends Base { op: 'rm'; path: string; recursive: boolean; dir?: boolean }
export interface RenameRecord extends Base { op: 'rename'; from: string; to: string }
export interface WriteRecord extends Base { op: 'write'; path: string; flags: string | number; source?: string }
export interface LinkRecord extends Base { op: 'symlink' | 'link'; target: string; path: string }
export interface MkdirRecord extends Base { op: 'mkdir'; path: string; recursive?: boolean; first?: string; existed?: boolean; prefix?: boolean }
export interface ChmodRecord extends Base { op: 'chmod'; path: string; mode?: number }
export interface ExitRecord extends Base { op: 'exit'; code: number }

export type PreloadRecord =
  | StartRecord
  | SpawnRecord
  | ConnectRecord
  | DnsRecord
  | PathRecord
  | RmdirRecord
  | RmRecord
  | RenameRecord
  | WriteRecord
  | LinkRecord
  | MkdirRecord
  | ChmodRecord
  | ExitRecord;

export type PreloadOp = PreloadRecord['op'];

// The preload caps strings at 4096 characters, lists at 256 items and argv at
// 64 KiB; a longer line was not written by it.
export const MAX_LINE = 1 << 18;
const MAX_STR = 4096;
const MAX_LIST = 256;
export const SCRIPT_ID = /^[A-Za-z0-9_-]{1,64}$/;
// t must stay a valid Date (toISOString throws otherwise)
const MAX_T = 8.64e15;

type Raw = Record<string, unknown>;

const isStr = (v: unknown, max = MAX_STR): v is string => typeof v === 'string' && v.length <= max;
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isAbsPath = (v: unknown): v is string => isStr(v) && v.startsWith('/') && !v.includes('\0');
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.length <= MAX_LIST && v.every((s) => isStr(s));
const isIpList = (v: unknown): v is string[] => isStrList(v) && v.every((s) => isIP(s) !== 0);
const isPid = (v: unknown): v is number => isInt(v, 1, 2 ** 31 - 1);

// Optional fields: absent, or of the right type.
function opt<T>(raw: Raw, key: string, check: (v: unknown) => v is T): { ok: boolean; value?: T } {
  const v = raw[key];
  if (v === undefined) return { ok: true };
  return check(v) ? { ok: true, value: v } : { ok: false };
}

// Copies the listed optional fields that are present; undefined when one is malformed.
function optional(raw: Raw, fields: Record<string, (v: unknown) => boolean>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [key, check] of Object.entries(fields)) {
    const r = opt(raw, key, check as (v: unknown) => v is unknown);
    if (!r.ok) return undefined;
    if (r.value !== undefined) out[key] = r.value;
  }
  return out;
}

const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isName = (v: unknown): v is string => isStr(v, 64) && /^[A-Za-z0-9_.]+$/.test(v);
const isCode = (v: unknown): v is string => isStr(v, 64) && /^[A-Za-z0-9_]+$/.test(v);

function base(raw: Raw): Base | undefined {
  const { t, pid, ppid, script } = raw;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > MAX_T) return undefined;
  if (!isPid(pid) || !isInt(ppid, 0, 2 ** 31 - 1) || typeof script !== 'string' || !SCRIPT_ID.test(script)) return undefined;
  const extra = optional(raw, { thread: (v) => isInt(v, 1, 2 ** 31 - 1), call: isName, error: isCode });
  return extra ? { t, pid, ppid, script, ...extra } : undefined;
}

function body(raw: Raw): Record<string, unknown> | undefined {
  const need = (fields: Record<string, (v: unknown) => boolean>): Record<string, unknown> | undefined => {
    const out: Record<string, unknown> = {};
    for (const [key, check] of Object.entries(fields)) {
      if (!check(raw[key])) return undefined;
      out[key] = raw[key];
    }
    return out;
  };
  const both = (a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined) => (a && b ? { ...a, ...b } : undefined);
  switch (raw.op) {
    case 'start':
      return both(need({ exe: isStr, argv0: isStr, argv: isStrList, execArgv: isStrList, cwd: isStr }), optional(raw, { cmdline: (v) => isStrList(v) && v.length > 0 }));
    case 'spawn':
      return both(need({ file: isStr, args: isStrList, cwd: isStr }), optional(raw, { exe: isAbsPath, detached: isBool, child: isPid, sync: isBool }));
    case 'connect': {
      const transport = raw.transport;
      if (transport !== 'tcp' && transport !== 'udp' && transport !== 'unix') return undefined;
      const fields = optional(raw, {
        ip: (v) => isStr(v, 64) && isIP(v) !== 0,
        port: (v) => isInt(v, 0, 65535),
        family: (v) => v === 4 || v === 6,
        host: isStr,
        path: isStr,
      });
      if (!fields) return undefined;
      if (transport === 'unix' ? fields.path === undefined : fields.port === undefined || (fields.ip === undefined && fields.host === undefined)) return undefined;
      return { transport, ...fields };
    }
    case 'dns':
      return both(need({ host: isStr }), optional(raw, { rrtype: (v) => isStr(v, 16) && /^[A-Z]+$/.test(v), addresses: isIpList, servers: isStrList }));
    case 'unlink':
    case 'truncate':
    case 'read':
      return need({ path: isAbsPath });
    case 'rmdir':
      return both(need({ path: isAbsPath }), optional(raw, { recursive: isBool }));
    case 'rm':
      return both(need({ path: isAbsPath, recursive: isBool }), optional(raw, { dir: isBool }));
    case 'rename':
      return need({ from: isAbsPath, to: isAbsPath });
    case 'write':
      return both(need({ path: isAbsPath, flags: (v) => isStr(v, 8) || isInt(v, 0, 2 ** 31 - 1) }), optional(raw, { source: isAbsPath }));
    case 'symlink':
      return need({ target: (v) => isStr(v) && !v.includes('\0'), path: isAbsPath });
    case 'link':
      return need({ target: isAbsPath, path: isAbsPath });
    case 'mkdir':
      return both(need({ path: isAbsPath }), optional(raw, { recursive: isBool, first: isAbsPath, existed: isBool, prefix: isBool }));
    case 'chmod':
      return both(need({ path: isAbsPath }), optional(raw, { mode: (v) => isInt(v, 0, 0o7777) }));
    case 'exit':
      return need({ code: (v) => isInt(v, -(2 ** 31), 2 ** 31 - 1) });
    default:
      return undefined;
  }
}

// One line of a .preload file, or undefined when it is not a well-formed record.
export function parsePreloadLine(line: string): PreloadRecord | undefined {
  if (typeof line !== 'string' || line.length > MAX_LINE) return undefined;
  const text = line.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const r = raw as Raw;
  const head = base(r);
  const rest = head ? body(r) : undefined;
  if (!head || !rest) return undefined;
  // only the checked keys are copied: nothing else the line carried survives
  return { ...head, op: r.op, ...rest } as PreloadRecord;
}
