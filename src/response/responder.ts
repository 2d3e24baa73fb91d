// The moment a package crosses the threshold: SIGKILL its whole traced tree
// (detached and setsid'd descendants included: strace -f follows them), keep
// killing anything it still manages to start, and stop npm.
import type { GuardedEvent } from '../events/types.js';
import { packageKey, type PackageVerdict } from '../scoring/detector.js';

export interface KillRecord {
  package: { name: string; version: string; path: string };
  rule: string;
  score: number;
  crossedAt: number; // time of the event that crossed (from the tracer)
  detectedAt: number; // when we saw it
  killSentAt: number;
  treeDeadAt?: number; // last death of a killed pid, per the tracer
  pids: number[];
}

export interface ResponderOptions {
  kill: boolean;
  // SIGKILL the pids that are provably ours (the tracer knows); returns those signalled
  killOurs: (pids: Iterable<number>) => number[];
  // live pids of every running script of this package
  livePids: (pkgKey: string) => number[];
  stopNpm: () => void;
  now?: () => number;
}

export class Responder {
  readonly records = new Map<string, KillRecord>();
  private readonly pidsOf = new Map<string, Set<number>>();
  private readonly dead = new Set<string>();

  constructor(private readonly options: ResponderOptions) {}

  onCross(pkg: PackageVerdict, event: GuardedEvent): void {
    if (!this.options.kill || this.records.has(pkg.key)) return;
    const now = this.options.now ?? Date.now;
    const detectedAt = now();
    const targets = new Set([...this.options.livePids(pkg.key), event.process.pid]);
    this.options.killOurs(targets);
    // every target counts, signalled now or already ended (a leftover killed
    // before the finding about it): their deaths in the trace close the record
    const pids = [...targets];
    this.pidsOf.set(pkg.key, new Set(pids));
    this.records.set(pkg.key, {
      package: { name: pkg.name, version: pkg.version, path: pkg.path },
      rule: pkg.crossed?.rule ?? '',
      score: pkg.score,
      crossedAt: pkg.crossed?.at ?? Date.parse(event['@timestamp']),
      detectedAt,
      killSentAt: now(),
      pids,
    });
    this.options.stopNpm();
  }

  // Every later event of a killed package: kill new pids, note deaths.
  onEvent(event: GuardedEvent): void {
    if (this.records.size === 0 || !event.npm.script_id) return;
    const key = packageKey(event.package);
    const record = this.records.get(key);
    const pids = this.pidsOf.get(key);
    if (!record || !pids) return;
    const pid = event.process.pid;
    if (event.kind === 'process-end' || event.kind === 'script-end') {
      if (pids.has(pid) && !this.dead.has(`${key}|${pid}`)) {
        this.dead.add(`${key}|${pid}`);
        record.treeDeadAt = Math.max(record.treeDeadAt ?? 0, Date.parse(event['@timestamp']));
      }
      return;
    }
    if (!pids.has(pid) && event.kind !== 'process-outlived-script' && event.kind !== 'process-outlived-install') {
      for (const p of this.options.killOurs([pid])) {
        pids.add(p);
        record.pids.push(p);
      }
    }
  }

  get killed(): boolean {
    return this.records.size > 0;
  }
}
