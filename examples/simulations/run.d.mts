// Types for run.mjs (the simulation runner), for the TypeScript tests.

export interface SimulationInfo {
  name: string;
  package: string;
  kind: 'attack' | 'benign';
  imitates: string;
  lifecycle: string[];
  needs: string[];
  lingerMs: number;
  signals: string[];
}

export interface TaggedProcess {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  comm: string;
  args: string[];
}

export interface KilledProcess extends TaggedProcess {
  signal: 'SIGTERM' | 'SIGKILL';
}

export interface TreeEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mode: string;
}

export interface C2Record {
  ts: number;
  kind: 'connection' | 'request' | 'tcp-send' | 'tcp-recv' | 'tcp-close';
  server?: 'http' | 'tcp';
  remote?: string;
  localPort?: number;
  method?: string;
  path?: string;
  query?: string;
  host?: string;
  userAgent?: string;
  bodyBytes?: number;
  body?: string;
  status?: number;
  data?: string;
}

export interface RunOptions {
  name: string;
  mode?: 'plain' | 'guarded';
  outDir?: string;
  tmpRoot?: string;
  lingerMs?: number;
  timeoutMs?: number;
  npmArgs?: string[];
  guardedArgs?: string[];
  env?: Record<string, string>;
  rm?: boolean;
}

export interface SimulationResult {
  name: string;
  package: string;
  version: string;
  mode: 'plain' | 'guarded';
  command: string[];
  dirs: { root: string; home: string; tmp: string; cache: string; project: string; result: string };
  pkgDir: string;
  tag: string;
  exitCode: number | null;
  nsExit: { code: number | null; signal: string | null };
  nsOutput: string;
  timedOut: boolean;
  times: { started: number; installStarted: number | null; installExited: number | null; finished: number };
  c2: C2Record[];
  c2Requests: string[];
  survivorsAtInstallExit: TaggedProcess[];
  survivorsAtEnd: TaggedProcess[];
  killed: KilledProcess[];
  remaining: TaggedProcess[];
  stage2Pids: number[];
  // diagnostics: /proc/<pid>/stat of each stage-2 pid when the install exited
  stage2AtInstallExit: Array<{ pid: number; stat: string | null; tagged: boolean }>;
  listings: { home: TreeEntry[]; tmp: TreeEntry[]; package: TreeEntry[] | null; project: TreeEntry[] };
  packageJsonFinal: string | null;
  installStderrTail: string;
  report: string | null;
  events: string | null;
}

export const SIM_ROOT: string;
export const REPO_ROOT: string;
export const BIN: string;
export const C2_STUB: string;
export const C2_IP: string;
export const C2_PORT: number;
export const C2_TCP_PORT: number;
export const DEFAULT_NPM_ARGS: string[];
export const DECOYS: {
  npmToken: string;
  githubToken: string;
  ghOauthToken: string;
  awsAccessKeyId: string;
  awsSecretAccessKey: string;
  dotenvKey: string;
};
export const CATALOG: { c2: { ip: string; httpPort: number; tcpPort: number }; simulations: SimulationInfo[] };

export function listSimulations(): SimulationInfo[];
export function getSimulation(name: string): SimulationInfo;
export function missingTools(sim: SimulationInfo): string[];
export function taggedProcesses(tag: string): TaggedProcess[];
export function killTagged(tag: string, graceMs?: number): Promise<{ killed: KilledProcess[]; remaining: TaggedProcess[] }>;
export function listTree(dir: string): TreeEntry[];
export function runSimulation(options: RunOptions): Promise<SimulationResult>;
export function removeRun(result: SimulationResult): void;
