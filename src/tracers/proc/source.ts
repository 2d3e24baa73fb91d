// What the process tracker asks of the operating system, one poll at a time.
// Linux answers from /proc (linux.ts), macOS from ps and lsof (darwin.ts), the
// unit tests from a scripted table.

export interface ProcInfo {
  pid: number;
  ppid: number;
  // session id; undefined where the backend can't tell (macOS)
  sid?: number;
  // R, S, D, Z (zombie: exited, not yet reaped), ...
  state: string;
  comm: string;
  // epoch ms
  startMs: number;
  // changes when the process execs (see ProcStat.imageKey); '' when unknown
  imageKey: string;
}

export interface ProcImage {
  executable: string;
  args: string[];
  cwd?: string;
}

// The shim's variables in a process's environment (as it was at exec).
export interface ScriptEnv {
  runDir: string;
  scriptId: string;
}

export interface OpenFds {
  // socket identities (inode numbers on Linux)
  sockets: string[];
  // absolute paths of open files
  files: string[];
}

export interface Connection {
  transport: 'tcp' | 'udp';
  family: 'ipv4' | 'ipv6';
  local: { ip: string; port: number };
  remote: { ip: string; port: number };
  state: string;
  // accepted on a listening port, not connected out
  inbound: boolean;
}

// A socket's fate: a connection, `null` (not a TCP/UDP connection: unix,
// listening, unconnected UDP), or absent from the map (not in any table yet).
export type Resolved = Map<string, Connection | null>;

export interface ProcSource {
  // CPU time (ms) the calling thread has used so far, to price a poll in.
  // Absent where the work is done by commands we run (ps, lsof: their CPU is
  // not ours): then a poll is priced in wall time.
  cpuMs?(): number;
  // Every pid now (the start of a poll: one readdir or one ps run).
  pids(): number[];
  info(pid: number): ProcInfo | undefined;
  image(pid: number): ProcImage | undefined;
  // undefined: unreadable or no shim variables
  environ(pid: number): ScriptEnv | undefined;
  fds(pids: readonly number[]): Map<number, OpenFds>;
  // which network namespace the pid is in (socket tables are per namespace)
  netns(pid: number): string;
  connections(pid: number, ids: ReadonlySet<string>): Resolved;
}

export const RUN_DIR_VAR = 'GUARDED_INSTALL_RUN_DIR';
export const SCRIPT_ID_VAR = 'GUARDED_INSTALL_SCRIPT_ID';
