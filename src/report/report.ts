// The JSON report of PRODUCT.md §5: the contract CI scripts and the Action read.
import type { LifecycleScript, TracerName } from '../events/types.js';
import type { KillRecord } from '../response/responder.js';
import type { Finding as RuleFinding } from '../rules/types.js';
import { packageKey, type Detector, type PackageVerdict } from '../scoring/detector.js';
import { effectivePoints } from '../scoring/score.js';
import type { SupervisedRun } from '../supervisor/supervise.js';
import { emptyActivity, type ActivityTally, type ScriptActivity } from './activity.js';

export interface ReportFinding {
  rule: string;
  signal: string;
  severity: string;
  points: number;
  mitre: string;
  description: string;
  lifecycle: string;
  evidence: Record<string, unknown>;
  occurrences: number;
  allowlisted?: { entry: string; points: number };
}

export interface ScriptSummary {
  id: string;
  event: string;
  command: string;
  exitCode: number | null;
  startedAt: string;
  durationMs: number | null;
  score: number;
  activity: ScriptActivity;
}

export interface PackageReport {
  name: string;
  version: string;
  path: string;
  lifecycle: string[];
  score: number;
  blocked: boolean;
  composite?: { id: string; level: string; description: string; signals: string[]; rules: string[]; from: string; to: string };
  findings: ReportFinding[];
  allowlisted: ReportFinding[];
  scripts: ScriptSummary[];
  evidenceDir?: string;
  // occurrences past the per-rule cap, folded into one rolling finding, by rule
  foldedFindings?: Record<string, number>;
}

export interface TimelineEntry {
  at: string; // ISO 8601, millisecond precision
  ms: number; // milliseconds since guarded-install started
  type: 'npm-start' | 'script-start' | 'script-end' | 'finding' | 'threshold-crossed' | 'kill-sent' | 'tree-dead' | 'process-outside-script' | 'process-outlived-install' | 'signal' | 'npm-exit';
  package?: string;
  detail?: string;
}

export interface ResponseRecord {
  package: string;
  rule: string;
  score: number;
  crossedAt: string;
  detectedAt: string;
  killSentAt: string;
  treeDeadAt: string | null;
  detectionMs: number; // crossing event -> our decision
  latencyMs: number | null; // crossing event -> last process of the tree dead
  pids: number[];
}

export interface Report {
  tool: { name: 'guarded-install'; version: string };
  verdict: 'pass' | 'fail';
  threshold: number;
  windowMs: number;
  mode: 'block' | 'audit';
  tracer: TracerName;
  tracerStatus: { ok: boolean; detail: string; fallback?: string };
  allowlists: string[];
  killed: boolean;
  exitCode: number;
  npm: { args: string[]; exitCode: number | null; signal: string | null; durationMs: number; scriptShell: string; stopped: boolean };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  maxScore: number;
  blockedPackages: string[];
  packages: PackageReport[];
  response: ResponseRecord[];
  outsideScripts: Array<{ pid: number; ppid: number; args: string[]; cwd?: string }>;
  outlived: Array<{ package: string; pid: number; args: string[]; killed: boolean }>;
  timeline: TimelineEntry[];
  events: { total: number; byKind: Record<string, number> };
}

export const pkgId = (s: { name: string; version: string }): string => `${s.name || '(root)'}@${s.version || '0.0.0'}`;
const iso = (ms: number): string => new Date(ms).toISOString();

export function reportFinding(f: RuleFinding): ReportFinding {
  return {
    rule: f.rule,
    signal: f.signal,
    severity: f.severity,
    points: effectivePoints(f),
    mitre: f.mitre,
    description: f.description,
    lifecycle: f.lifecycle,
    evidence: f.evidence,
    occurrences: f.occurrences,
    ...(f.allowlisted ? { allowlisted: f.allowlisted } : {}),
  };
}

export function packageReport(v: PackageVerdict | undefined, base: { name: string; version: string; path: string }, threshold: number): PackageReport {
  const findings = v?.findings ?? [];
  return {
    name: base.name,
    version: base.version,
    path: base.path,
    lifecycle: v?.lifecycle ?? [],
    score: v?.score ?? 0,
    blocked: (v?.score ?? 0) >= threshold,
    ...(v?.composite ? { composite: { ...v.composite, from: iso(v.composite.from), to: iso(v.composite.to) } } : {}),
    findings: findings.filter((f) => effectivePoints(f) > 0).map(reportFinding),
    allowlisted: findings.filter((f) => f.allowlisted).map(reportFinding),
    scripts: [],
    ...(v && Object.keys(v.folded).length > 0 ? { foldedFindings: { ...v.folded } } : {}),
  };
}

export function buildPackages(scripts: LifecycleScript[], detector: Detector, tally: ActivityTally | undefined): PackageReport[] {
  const byKey = new Map<string, PackageReport>();
  const verdicts = new Map(detector.verdicts().map((v) => [v.key, v]));
  for (const script of [...scripts].sort((a, b) => a.startedAt - b.startedAt)) {
    const base = { name: script.name, version: script.version, path: script.path };
    const key = packageKey(base);
    let pkg = byKey.get(key);
    if (!pkg) {
      pkg = packageReport(verdicts.get(key), base, detector.threshold);
      byKey.set(key, pkg);
    }
    if (!pkg.lifecycle.includes(script.event)) pkg.lifecycle.push(script.event);
    const v = verdicts.get(key);
    pkg.scripts.push({
      id: script.id,
      event: script.event,
      command: script.command,
      exitCode: script.exitCode ?? null,
      startedAt: iso(script.startedAt),
      durationMs: script.endedAt === undefined ? null : Math.round(script.endedAt - script.startedAt),
      score: v ? detector.hookScore(v, script.event) : 0,
      activity: tally?.get(script.id) ?? emptyActivity(),
    });
  }
  // packages seen only through events (a replayed log without script records)
  for (const v of verdicts.values()) if (!byKey.has(v.key)) byKey.set(v.key, packageReport(v, v, detector.threshold));
  return [...byKey.values()].sort((a, b) => b.score - a.score);
}

export function responseRecords(records: Iterable<KillRecord>): ResponseRecord[] {
  return [...records].map((r) => ({
    package: pkgId(r.package),
    rule: r.rule,
    score: r.score,
    crossedAt: iso(r.crossedAt),
    detectedAt: iso(r.detectedAt),
    killSentAt: iso(r.killSentAt),
    treeDeadAt: r.treeDeadAt === undefined ? null : iso(r.treeDeadAt),
    detectionMs: Math.round(r.detectedAt - r.crossedAt),
    latencyMs: r.treeDeadAt === undefined ? null : Math.round(r.treeDeadAt - r.crossedAt),
    pids: r.pids,
  }));
}

export interface ReportInput {
  version: string;
  startedAt: number;
  finishedAt: number;
  tracer: TracerName;
  tracerStatus: { ok: boolean; detail: string; fallback?: string };
  allowlists: string[];
  kill: boolean;
  exitCode: number;
  run: SupervisedRun;
  detector: Detector;
  kills: KillRecord[];
  tally: ActivityTally;
  timeline: TimelineEntry[];
}

export function buildReport(input: ReportInput): Report {
  const { run, detector } = input;
  const packages = buildPackages(run.scripts, detector, input.tally);
  const blocked = packages.filter((p) => p.blocked);
  return {
    tool: { name: 'guarded-install', version: input.version },
    verdict: blocked.length > 0 ? 'fail' : 'pass',
    threshold: detector.threshold,
    windowMs: detector.windowMs,
    mode: input.kill ? 'block' : 'audit',
    tracer: input.tracer,
    tracerStatus: input.tracerStatus,
    allowlists: input.allowlists,
    killed: input.kills.length > 0,
    exitCode: input.exitCode,
    npm: {
      args: run.userShell.npmArgs,
      exitCode: run.npm.exitCode ?? null,
      signal: run.npm.signal ?? null,
      durationMs: Math.round(run.npm.durationMs),
      scriptShell: run.userShell.shell ?? '/bin/sh',
      stopped: run.aborted,
    },
    startedAt: iso(input.startedAt),
    finishedAt: iso(input.finishedAt),
    durationMs: Math.round(input.finishedAt - input.startedAt),
    maxScore: Math.max(0, ...packages.map((p) => p.score)),
    blockedPackages: blocked.map(pkgId),
    packages,
    response: responseRecords(input.kills),
    outsideScripts: run.outside.map((p) => ({ pid: p.pid, ppid: p.ppid, args: p.args, ...(p.cwd ? { cwd: p.cwd } : {}) })),
    outlived: run.outlived.map((o) => ({ package: pkgId(o.script), pid: o.process.pid, args: o.process.args ?? [], killed: o.killed })),
    timeline: input.timeline,
    events: { total: input.tally.total, byKind: input.tally.countsByKind },
  };
}
