// The one normalized event model. Every tracer produces these; rules, scorer and
// reporters consume them. Field names follow Elastic Common Schema (ECS) so the
// NDJSON log can be shipped to a SIEM as-is; `kind` is the in-memory discriminant
// (it equals `event.action` and is dropped on serialization).

export type TracerName = 'strace' | 'proc' | 'none';

// Who ran the code: the package, its lifecycle hook, and the script instance.
export interface Attribution {
  package: { name: string; version: string; path: string };
  npm: {
    lifecycle_event: string;
    script_id: string;
    // pids from the event's parent process up to the script's root shell
    ancestry: number[];
  };
}

export interface ProcessRef {
  pid: number;
  parent?: { pid: number };
  executable?: string;
  name?: string;
  args?: string[];
  working_directory?: string;
  thread?: { id: number };
}

interface Base<K extends string, C extends string, T extends string> extends Attribution {
  kind: K;
  '@timestamp': string;
  event: { kind: 'event' | 'alert'; action: K; category: C[]; type: T[]; sequence: number; outcome?: 'success' | 'failure' | 'unknown' };
  process: ProcessRef;
}

export interface ScriptStartEvent extends Base<'script-start', 'process', 'start'> {
  npm_script: { command: string; shell: string };
}
export interface ScriptEndEvent extends Base<'script-end', 'process', 'end'> {
  process: ProcessRef & { exit_code: number };
}
export interface ProcessStartEvent extends Base<'process-start', 'process', 'start'> {
  process: ProcessRef & { executable: string; name: string; args: string[] };
}
export interface ProcessEndEvent extends Base<'process-end', 'process', 'end'> {
  // exit_code is absent when the tracer only saw the process vanish (proc tracer)
  process: ProcessRef & { exit_code?: number; signal?: string; uptime_ms?: number };
}
// setsid(): the process left the script's session, the usual first step of a daemon.
export interface ProcessDetachEvent extends Base<'process-detach', 'process', 'change'> {}
export interface NetworkConnectEvent extends Base<'network-connect', 'network', 'connection' | 'start'> {
  // domain: a hostname that resolves to ip, when known (allowlists name hosts)
  destination: { ip?: string; port?: number; address: string; domain?: string };
  network: { transport: 'tcp' | 'udp' | 'unix' | 'unknown'; type?: 'ipv4' | 'ipv6' };
  syscall: { name: string; result: string };
}
export interface DnsQueryEvent extends Base<'dns-query', 'network', 'protocol'> {
  dns: { question: { name: string } };
  destination: { ip?: string; port?: number; address: string };
}
export interface FileWriteEvent extends Base<'file-write', 'file', 'creation' | 'change'> {
  file: { path: string };
  syscall: { name: string; flags: string[] };
}
export interface FileDeleteEvent extends Base<'file-delete', 'file', 'deletion'> {
  file: { path: string; type?: 'dir' | 'file' };
  syscall: { name: string };
}
export interface FileRenameEvent extends Base<'file-rename', 'file', 'change'> {
  // file.path is the new name; syscall.source_path the old one
  file: { path: string };
  syscall: { name: string; source_path: string };
}
export interface DirCreateEvent extends Base<'dir-create', 'file', 'creation'> {
  file: { path: string; type: 'dir' };
  syscall: { name: string };
}
export interface FileLinkEvent extends Base<'file-link', 'file', 'creation'> {
  file: { path: string; target_path: string };
  syscall: { name: string };
}
export interface SensitiveReadEvent extends Base<'sensitive-read', 'file', 'access'> {
  file: { path: string };
  syscall: { name: string };
}
// A process in npm's tree that no lifecycle-script shim started: not traced.
export interface ProcessOutsideScriptEvent extends Base<'process-outside-script', 'process', 'info'> {}
// A process a script started that was still running after its script ended
// (`process-outlived-script`) or after npm finished (`process-outlived-install`).
export interface ProcessOutlivedEvent extends Base<'process-outlived-script' | 'process-outlived-install', 'process', 'info'> {
  outcome_action: 'killed' | 'left-running' | 'gone';
}
// First event of every log: the host facts rules depend on, so a recorded log
// re-scores exactly as it was scored live.
export interface RunStartEvent extends Base<'run-start', 'host', 'start'> {
  run: { home: string; temp_dirs: string[]; resolvers: string[]; project_root: string; tracer: TracerName; npm_args: string[] };
  host: { hostname: string; os: { type: string; platform: string } };
}
// Loss or limits of visibility: tracer missing, tracer died, unparsable output.
export interface TracerNoticeEvent extends Base<'tracer-notice', 'host', 'info'> {
  message: string;
  tracer: TracerName;
  // on a notice about one lifecycle script: what happened to its visibility
  // (serialized under run.*; rules key on `notice`)
  run?: VisibilityFacts;
}

// tracer-lost: the script's tracer ended while the script still ran;
// tracer-stopped: it was stopped (SIGSTOP, ptrace-attached); signal-to-supervisor:
// the script signalled its tracer, npm or guarded-install; ptrace: it called
// ptrace (PTRACE_TRACEME is the classic "am I traced?" check); trace-check: it
// read the /proc status (TracerPid) of one of its own processes; run-dir-tamper:
// it changed guarded-install's run directory (its own trace, identity records).
export type VisibilityNotice = 'tracer-lost' | 'tracer-stopped' | 'signal-to-supervisor' | 'ptrace' | 'trace-check' | 'run-dir-tamper';
export interface VisibilityFacts {
  notice: VisibilityNotice;
  tracer_pid?: number;
  target_pid?: number;
  target_role?: string; // tracer, npm, guarded-install, process-group, every-process
  signal?: string;
  call?: string; // the syscall (or the last one in progress when the tracer died)
  path?: string;
  pids?: number[]; // processes still running, unseen
  ended?: number[]; // of those, the ones we ended
}

export type GuardedEvent =
  | RunStartEvent
  | ScriptStartEvent
  | ScriptEndEvent
  | ProcessStartEvent
  | ProcessEndEvent
  | ProcessDetachEvent
  | NetworkConnectEvent
  | DnsQueryEvent
  | FileWriteEvent
  | FileDeleteEvent
  | FileRenameEvent
  | FileLinkEvent
  | DirCreateEvent
  | SensitiveReadEvent
  | ProcessOutsideScriptEvent
  | ProcessOutlivedEvent
  | TracerNoticeEvent;

export type EventKind = GuardedEvent['kind'];

// The identity npm hands each lifecycle script through its environment.
export interface LifecycleScript {
  id: string;
  name: string;
  version: string;
  event: string;
  packageJson: string;
  path: string;
  command: string;
  shell: string;
  shimPid: number;
  startedAt: number;
  endedAt?: number;
  exitCode?: number;
}
