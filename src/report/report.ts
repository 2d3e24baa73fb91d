// The JSON report of PRODUCT.md §5: the contract CI scripts and the Action read.
import type { LifecycleScript, TracerName } from '../events/types.js';
import type { SupervisedRun } from '../supervisor/supervise.js';
import type { ActivityTally, ScriptActivity } from './activity.js';

export const DEFAULT_THRESHOLD = 70;

export interface Finding {
  rule: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  points: number;
  evidence: Record<string, unknown>;
  mitre: string;
}

export interface ScriptSummary {
  id: string;
  event: string;
  command: string;
  exitCode: number | null;
  startedAt: string;
  durationMs: number | null;
  activity: ScriptActivity;
}

export interface PackageReport {
  name: string;
  version: string;
  lifecycle: string[];
  score: number;
  findings: Finding[];
  scripts: ScriptSummary[];
}

export interface TimelineEntry {
  at: string; // ISO 8601, millisecond precision
  ms: number; // milliseconds since guarded-install started
  type: 'npm-start' | 'script-start' | 'script-end' | 'process-outside-script' | 'process-outlived-install' | 'signal' | 'npm-exit';
  package?: string;
  detail?: string;
}

export interface Report {
  tool: { name: 'guarded-install'; version: string };
  verdict: 'pass' | 'fail';
  threshold: number;
  detection: { enabled: boolean; note: string };
  tracer: TracerName;
  tracerStatus: { ok: boolean; detail: string };
  killed: boolean;
  exitCode: number;
  npm: { args: string[]; exitCode: number | null; signal: string | null; durationMs: number; scriptShell: string };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  packages: PackageReport[];
  outsideScripts: Array<{ pid: number; ppid: number; args: string[]; cwd?: string }>;
  outlived: Array<{ package: string; pid: number; args: string[]; killed: boolean }>;
  timeline: TimelineEntry[];
  events: { total: number; byKind: Record<string, number> };
}

export const DETECTION_NOTE =
  'Detection rules and scoring are not implemented in this version: activity is traced and attributed, but no package is scored (score 0, no findings) and the verdict does not reflect behaviour.';

export interface ReportInput {
  version: string;
  startedAt: number;
  finishedAt: number;
  tracer: TracerName;
  tracerStatus: { ok: boolean; detail: string };
  exitCode: number;
  run: SupervisedRun;
  tally: ActivityTally;
  timeline: TimelineEntry[];
}

const pkgId = (s: { name: string; version: string }): string => `${s.name || '(unnamed)'}@${s.version || '0.0.0'}`;

function scriptSummary(script: LifecycleScript, tally: ActivityTally): ScriptSummary {
  return {
    id: script.id,
    event: script.event,
    command: script.command,
    exitCode: script.exitCode ?? null,
    startedAt: new Date(script.startedAt).toISOString(),
    durationMs: script.endedAt === undefined ? null : Math.round(script.endedAt - script.startedAt),
    activity: tally.get(script.id),
  };
}

export function groupByPackage(scripts: LifecycleScript[], tally: ActivityTally): PackageReport[] {
  const byPkg = new Map<string, PackageReport>();
  for (const script of [...scripts].sort((a, b) => a.startedAt - b.startedAt)) {
    const key = `${pkgId(script)}\0${script.path}`;
    let pkg = byPkg.get(key);
    if (!pkg) {
      pkg = { name: script.name, version: script.version, lifecycle: [], score: 0, findings: [], scripts: [] };
      byPkg.set(key, pkg);
    }
    if (!pkg.lifecycle.includes(script.event)) pkg.lifecycle.push(script.event);
    pkg.scripts.push(scriptSummary(script, tally));
  }
  return [...byPkg.values()];
}

export function buildReport(input: ReportInput): Report {
  const { run } = input;
  return {
    tool: { name: 'guarded-install', version: input.version },
    verdict: 'pass',
    threshold: DEFAULT_THRESHOLD,
    detection: { enabled: false, note: DETECTION_NOTE },
    tracer: input.tracer,
    tracerStatus: input.tracerStatus,
    killed: false,
    exitCode: input.exitCode,
    npm: {
      args: run.userShell.npmArgs,
      exitCode: run.npm.exitCode ?? null,
      signal: run.npm.signal ?? null,
      durationMs: Math.round(run.npm.durationMs),
      scriptShell: run.userShell.shell ?? '/bin/sh',
    },
    startedAt: new Date(input.startedAt).toISOString(),
    finishedAt: new Date(input.finishedAt).toISOString(),
    durationMs: Math.round(input.finishedAt - input.startedAt),
    packages: groupByPackage(run.scripts, input.tally),
    outsideScripts: run.outside.map((p) => ({ pid: p.pid, ppid: p.ppid, args: p.args, ...(p.cwd ? { cwd: p.cwd } : {}) })),
    outlived: run.outlived.map((o) => ({ package: pkgId(o.script), pid: o.process.pid, args: o.process.args ?? [], killed: o.killed })),
    timeline: input.timeline,
    events: { total: input.tally.total, byKind: input.tally.countsByKind },
  };
}

export { pkgId };
