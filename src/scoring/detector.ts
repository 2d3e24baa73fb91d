// Events in, findings and per-package verdicts out. Deterministic: the same
// event sequence (live, or replayed from a log) gives the same result.
import { homedir, tmpdir } from 'node:os';
import type { Allowlist } from '../allowlist/allowlist.js';
import type { GuardedEvent } from '../events/types.js';
import { RULES_BY_KIND } from '../rules/catalog.js';
import { RuleContext, type HostFacts } from '../rules/context.js';
import type { Evidence, Finding, Rule } from '../rules/types.js';
import { DEFAULT_WINDOW_MS, scoreFindings, type Composite } from './score.js';

export const DEFAULT_THRESHOLD = 70;
const MAX_FINDINGS_PER_PACKAGE = 500;

export interface PackageVerdict {
  key: string;
  name: string;
  version: string;
  path: string;
  lifecycle: string[];
  findings: Finding[];
  score: number;
  composite?: Composite;
  crossed?: { at: number; sequence: number; rule: string; score: number };
}

export interface DetectorOptions {
  threshold?: number;
  windowMs?: number;
  allowlist?: Allowlist;
  // called once per package, with the event that made it cross the threshold
  onCross?: (pkg: PackageVerdict, finding: Finding, event: GuardedEvent) => void;
}

export const packageKey = (p: { name: string; version: string; path: string }): string => `${p.name}@${p.version}\0${p.path}`;

function fallbackHost(): HostFacts {
  return { home: process.env.HOME ?? homedir(), tempDirs: [...new Set(['/tmp', '/var/tmp', '/dev/shm', tmpdir()])], resolvers: [], projectRoot: process.cwd() };
}

function dedupeKey(rule: Rule, ev: Evidence): string {
  const target = ev.path ?? (ev.ip !== undefined ? `${ev.ip}:${ev.port}` : undefined) ?? ev.executable ?? ev.pid;
  return `${rule.id}|${String(target)}`;
}

export class Detector {
  readonly threshold: number;
  readonly windowMs: number;
  private ctx: RuleContext | undefined;
  private readonly packages = new Map<string, PackageVerdict>();
  private readonly seen = new Map<string, Finding>();

  constructor(private readonly options: DetectorOptions = {}) {
    this.threshold = options.threshold ?? DEFAULT_THRESHOLD;
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  }

  get context(): RuleContext {
    this.ctx ??= new RuleContext(fallbackHost());
    return this.ctx;
  }

  onEvent(event: GuardedEvent): Finding[] {
    if (event.kind === 'run-start') {
      this.ctx = new RuleContext({ home: event.run.home, tempDirs: event.run.temp_dirs, resolvers: event.run.resolvers, projectRoot: event.run.project_root });
      return [];
    }
    const ctx = this.context;
    const at = Date.parse(event['@timestamp']);
    const found: Finding[] = [];
    if (event.npm.script_id) {
      const pkg = this.packageOf(event);
      for (const rule of RULES_BY_KIND.get(event.kind) ?? []) {
        const extra = rule.match(event, ctx);
        if (extra) {
          const finding = this.record(rule, { ...extra, ...(event.kind === 'network-connect' && event.destination.domain ? { domain: event.destination.domain } : {}) }, event, at, pkg);
          if (finding) found.push(finding);
        }
      }
      if (found.length > 0) this.rescore(pkg, found, event);
    }
    ctx.observe(event, at);
    return found;
  }

  verdicts(): PackageVerdict[] {
    return [...this.packages.values()];
  }

  failed(): PackageVerdict[] {
    return this.verdicts().filter((p) => p.score >= this.threshold);
  }

  // score of one lifecycle hook of a package
  hookScore(pkg: PackageVerdict, hook: string): number {
    return scoreFindings(pkg.findings.filter((f) => f.lifecycle === hook), this.windowMs).score;
  }

  private packageOf(event: GuardedEvent): PackageVerdict {
    const key = packageKey(event.package);
    let pkg = this.packages.get(key);
    if (!pkg) {
      pkg = { key, name: event.package.name, version: event.package.version, path: event.package.path, lifecycle: [], findings: [], score: 0 };
      this.packages.set(key, pkg);
    }
    if (event.npm.lifecycle_event && !pkg.lifecycle.includes(event.npm.lifecycle_event)) pkg.lifecycle.push(event.npm.lifecycle_event);
    return pkg;
  }

  private record(rule: Rule, evidence: Evidence, event: GuardedEvent, at: number, pkg: PackageVerdict): Finding | undefined {
    const key = `${pkg.key}|${dedupeKey(rule, evidence)}`;
    const prior = this.seen.get(key);
    // a repeat inside the window only counts; a repeat after it is news again
    if (prior && at - prior.at <= this.windowMs) {
      prior.occurrences++;
      return undefined;
    }
    if (pkg.findings.length >= MAX_FINDINGS_PER_PACKAGE) return undefined;
    const finding: Finding = {
      rule: rule.id,
      signal: rule.signal,
      severity: rule.severity,
      points: rule.points,
      mitre: rule.mitre,
      description: rule.description,
      evidence: { ...evidence, at: event['@timestamp'], sequence: event.event.sequence },
      at,
      sequence: event.event.sequence,
      package: event.package,
      lifecycle: event.npm.lifecycle_event,
      scriptId: event.npm.script_id,
      occurrences: 1,
    };
    const allowed = this.options.allowlist?.match(finding, this.context);
    if (allowed) finding.allowlisted = allowed;
    this.seen.set(key, finding);
    pkg.findings.push(finding);
    return finding;
  }

  private rescore(pkg: PackageVerdict, found: Finding[], event: GuardedEvent): void {
    const result = scoreFindings(pkg.findings, this.windowMs);
    pkg.score = result.score;
    if (result.composite) pkg.composite = result.composite;
    else delete pkg.composite;
    if (!pkg.crossed && pkg.score >= this.threshold) {
      const trigger = found[found.length - 1] as Finding;
      pkg.crossed = { at: trigger.at, sequence: trigger.sequence, rule: trigger.rule, score: pkg.score };
      this.options.onCross?.(pkg, trigger, event);
    }
  }
}
