// Events in, findings and per-package verdicts out. Deterministic: the same
// event sequence (live, or replayed from a log) gives the same result.
import { homedir, tmpdir } from 'node:os';
import type { Allowlist } from '../allowlist/allowlist.js';
import type { GuardedEvent } from '../events/types.js';
import { RULES_BY_KIND } from '../rules/catalog.js';
import { RuleContext, type HostFacts } from '../rules/context.js';
import type { Evidence, Finding, Rule } from '../rules/types.js';
import { DEFAULT_WINDOW_MS, effectivePoints, scoreFindings, type Composite } from './score.js';

export const DEFAULT_THRESHOLD = 70;
// Distinct findings kept per package and rule. A script that trips one rule
// over and over (100,000 temp files) must neither grow memory nor crowd out
// the findings of the rules it trips next: past the cap, further occurrences
// are folded into one rolling finding per rule (its time and evidence are the
// latest occurrence's, so it still correlates with what happens next), and
// counted in `folded`.
export const MAX_FINDINGS_PER_RULE = 25;
// Clock jumps: strace stamps syscalls with the wall clock. Within one script a
// step back of more than this is the clock being set back...
const CLOCK_BACK_TOLERANCE_MS = 2_000;
// ...and a step forward of more than this is the clock jumping ahead (no
// lifecycle script goes this long without a single traced event).
const CLOCK_JUMP_AHEAD_MS = 10 * 60_000;

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
  // occurrences folded into a rolling finding once a rule hit its cap, by rule
  folded: Record<string, number>;
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
  private readonly clocks = new Map<string, { raw: number; at: number }>();
  // per package key: distinct findings kept per rule, and each rule's rolling finding
  private readonly kept = new Map<string, Map<string, number>>();
  private readonly rolling = new Map<string, Finding>();

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
    const raw = Date.parse(event['@timestamp']);
    const at = event.npm.script_id ? this.elapsed(event.npm.script_id, raw) : raw;
    const found: Finding[] = [];
    if (event.npm.script_id) {
      const pkg = this.packageOf(event);
      const changed: Finding[] = [];
      for (const rule of RULES_BY_KIND.get(event.kind) ?? []) {
        const extra = rule.match(event, ctx);
        if (extra) {
          const result = this.record(rule, { ...extra, ...(event.kind === 'network-connect' && event.destination.domain ? { domain: event.destination.domain } : {}) }, event, at, pkg);
          if (result?.changed) changed.push(result.changed);
          if (result?.isNew) found.push(result.changed);
        }
      }
      if (changed.length > 0) this.rescore(pkg, changed, event);
    }
    ctx.observe(event, raw);
    return found;
  }

  // A script's event times with clock jumps taken out: a jump keeps the time
  // of the event before it, so the correlation window measures time that
  // passed, not the jump (a finding's `at`; its evidence keeps @timestamp).
  private elapsed(scriptId: string, raw: number): number {
    const clock = this.clocks.get(scriptId);
    if (!clock) {
      this.clocks.set(scriptId, { raw, at: raw });
      return raw;
    }
    const step = raw - clock.raw;
    clock.at += step < -CLOCK_BACK_TOLERANCE_MS || step > CLOCK_JUMP_AHEAD_MS ? 0 : step;
    clock.raw = raw;
    return clock.at;
  }

  verdicts(): PackageVerdict[] {
    return [...this.packages.values()];
  }

  failed(): PackageVerdict[] {
    return this.verdicts().filter((p) => p.score >= this.threshold);
  }

  // score of one lifecycle hook of a package
  hookScore(pkg: PackageVerdict, hook: string): number {
    const own = scoreFindings(pkg.findings.filter((f) => f.lifecycle === hook), this.windowMs).score;
    // a rolling finding's earlier occurrences are gone: never below the package
    // score when this hook alone made it
    return pkg.lifecycle.length === 1 && pkg.lifecycle[0] === hook ? Math.max(own, pkg.score) : own;
  }

  private packageOf(event: GuardedEvent): PackageVerdict {
    const key = packageKey(event.package);
    let pkg = this.packages.get(key);
    if (!pkg) {
      pkg = { key, name: event.package.name, version: event.package.version, path: event.package.path, lifecycle: [], findings: [], score: 0, folded: {} };
      this.packages.set(key, pkg);
    }
    if (event.npm.lifecycle_event && !pkg.lifecycle.includes(event.npm.lifecycle_event)) pkg.lifecycle.push(event.npm.lifecycle_event);
    return pkg;
  }

  // A new finding ({ changed, isNew: true }), a rolling finding moved to this
  // occurrence ({ changed, isNew: false }: rescore, but do not announce), or
  // nothing new (a repeat inside the window).
  private record(rule: Rule, evidence: Evidence, event: GuardedEvent, at: number, pkg: PackageVerdict): { changed: Finding; isNew: boolean } | undefined {
    const key = `${pkg.key}|${dedupeKey(rule, evidence)}`;
    const prior = this.seen.get(key);
    // a repeat inside the window only counts; a repeat after it is news again
    if (prior && at - prior.at <= this.windowMs) {
      prior.occurrences++;
      return undefined;
    }
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
    let kept = this.kept.get(pkg.key);
    if (!kept) {
      kept = new Map();
      this.kept.set(pkg.key, kept);
    }
    const count = kept.get(rule.id) ?? 0;
    if (count < MAX_FINDINGS_PER_RULE) {
      kept.set(rule.id, count + 1);
      this.seen.set(key, finding);
      pkg.findings.push(finding);
      return { changed: finding, isNew: true };
    }
    // past the cap: one rolling finding per rule and weight (an allowlisted
    // occurrence must not stand in for one that is not)
    pkg.folded[rule.id] = (pkg.folded[rule.id] ?? 0) + 1;
    const rollingKey = `${pkg.key}|${rule.id}|${effectivePoints(finding)}`;
    const roll = this.rolling.get(rollingKey);
    if (!roll) {
      finding.evidence.rolling = true;
      this.rolling.set(rollingKey, finding);
      pkg.findings.push(finding);
      return { changed: finding, isNew: true };
    }
    roll.at = finding.at;
    roll.sequence = finding.sequence;
    roll.evidence = { ...finding.evidence, rolling: true };
    roll.lifecycle = finding.lifecycle;
    roll.scriptId = finding.scriptId;
    roll.occurrences++;
    return { changed: roll, isNew: false };
  }

  // Only windows that hold a changed finding can score differently, and a
  // package's score never goes down: the best over the windows around the
  // changed findings, against the best so far. Linear in the findings near
  // them, not quadratic in all of them.
  private rescore(pkg: PackageVerdict, changed: Finding[], event: GuardedEvent): void {
    const from = Math.min(...changed.map((f) => f.at)) - this.windowMs;
    const to = Math.max(...changed.map((f) => f.at)) + this.windowMs;
    const result = scoreFindings(pkg.findings.filter((f) => f.at >= from && f.at <= to), this.windowMs);
    if (result.score > pkg.score || (result.composite && !pkg.composite && result.score === pkg.score)) {
      pkg.score = result.score;
      if (result.composite) pkg.composite = result.composite;
      else delete pkg.composite;
    }
    if (!pkg.crossed && pkg.score >= this.threshold) {
      const trigger = changed[changed.length - 1] as Finding;
      pkg.crossed = { at: trigger.at, sequence: trigger.sequence, rule: trigger.rule, score: pkg.score };
      this.options.onCross?.(pkg, trigger, event);
    }
  }
}
