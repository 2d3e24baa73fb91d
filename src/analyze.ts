// `guarded-install analyze <events.ndjson>`: re-score a recorded event log with
// the current rules and allowlist. The detector is the same one the live run
// uses and the log carries the host facts, so the verdict is the same.
import { createReadStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { loadAllowlist } from './allowlist/allowlist.js';
import { fromEcs } from './events/ecs.js';
import type { EventKind, GuardedEvent, LifecycleScript } from './events/types.js';
import { EXIT, UsageError } from './errors.js';
import { ActivityTally } from './report/activity.js';
import { buildPackages, pkgId, type PackageReport } from './report/report.js';
import { Detector } from './scoring/detector.js';
import { VERSION } from './version.js';

export interface AnalyzeOptions {
  file: string;
  cwd: string;
  threshold?: number;
  windowMs?: number;
  allowlist?: string;
}

export interface AnalyzeReport {
  tool: { name: 'guarded-install'; version: string };
  source: string;
  verdict: 'pass' | 'fail';
  threshold: number;
  windowMs: number;
  allowlists: string[];
  maxScore: number;
  blockedPackages: string[];
  packages: PackageReport[];
  events: { total: number; byKind: Record<string, number>; skipped: number };
}

export interface AnalyzeResult {
  exitCode: number;
  report: AnalyzeReport;
}

const KINDS: readonly EventKind[] = ['run-start', 'script-start', 'script-end', 'process-start', 'process-end', 'process-detach', 'network-connect', 'dns-query', 'file-write', 'file-delete', 'file-rename', 'file-link', 'dir-create', 'sensitive-read', 'process-outside-script', 'process-outlived-script', 'process-outlived-install', 'tracer-notice'];

const EcsEvent = z.looseObject({
  '@timestamp': z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 timestamp'),
  event: z.looseObject({ action: z.string(), sequence: z.number().int() }),
  package: z.looseObject({ name: z.string(), version: z.string(), path: z.string() }),
  npm: z.looseObject({ lifecycle_event: z.string(), script_id: z.string(), ancestry: z.array(z.number()) }),
  process: z.looseObject({ pid: z.number().int() }),
});

function scriptsFrom(events: GuardedEvent[]): LifecycleScript[] {
  const scripts = new Map<string, LifecycleScript>();
  for (const e of events) {
    if (e.kind === 'script-start') {
      scripts.set(e.npm.script_id, { id: e.npm.script_id, name: e.package.name, version: e.package.version, event: e.npm.lifecycle_event, packageJson: '', path: e.package.path, command: e.npm_script.command, shell: e.npm_script.shell, shimPid: e.process.pid, startedAt: Date.parse(e['@timestamp']) });
    } else if (e.kind === 'script-end') {
      const s = scripts.get(e.npm.script_id);
      if (s) {
        s.exitCode = e.process.exit_code;
        s.endedAt = Date.parse(e['@timestamp']);
      }
    }
  }
  return [...scripts.values()];
}

export async function readEventLog(file: string): Promise<{ events: GuardedEvent[]; skipped: number }> {
  if (!existsSync(file)) throw new UsageError(`${file}: no such file`);
  const events: GuardedEvent[] = [];
  let skipped = 0;
  let lineNo = 0;
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch (error) {
      throw new UsageError(`${file}:${lineNo}: not valid JSON (${(error as Error).message})`);
    }
    const parsed = EcsEvent.safeParse(doc);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UsageError(`${file}:${lineNo}: ${issue?.path.join('.') || '(line)'}: ${issue?.message ?? 'not an event'}`);
    }
    const action = parsed.data.event.action as EventKind;
    if (!KINDS.includes(action)) {
      skipped++; // written by a newer version: not ours to score
      continue;
    }
    events.push(fromEcs(doc as Record<string, unknown>, action));
  }
  return { events, skipped };
}

export async function analyze(options: AnalyzeOptions): Promise<AnalyzeResult> {
  const file = resolve(options.cwd, options.file);
  const { allowlist, sources } = loadAllowlist(options.cwd, options.allowlist);
  const { events, skipped } = await readEventLog(file);
  const detector = new Detector({
    allowlist,
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
    ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
  });
  const tally = new ActivityTally();
  for (const event of [...events].sort((a, b) => a.event.sequence - b.event.sequence)) {
    detector.onEvent(event);
    tally.add(event);
  }
  const packages = buildPackages(scriptsFrom(events), detector, tally);
  const blocked = packages.filter((p) => p.blocked);
  const report: AnalyzeReport = {
    tool: { name: 'guarded-install', version: VERSION },
    source: file,
    verdict: blocked.length > 0 ? 'fail' : 'pass',
    threshold: detector.threshold,
    windowMs: detector.windowMs,
    allowlists: sources,
    maxScore: Math.max(0, ...packages.map((p) => p.score)),
    blockedPackages: blocked.map(pkgId),
    packages,
    events: { total: tally.total, byKind: tally.countsByKind, skipped },
  };
  return { exitCode: blocked.length > 0 ? EXIT.blocked : EXIT.pass, report };
}
