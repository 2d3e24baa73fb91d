// Scoring a package's findings: 0-100, correlated within a time window. Per
// signal the strongest finding counts; signals add up. Two core signals
// (process, egress, churn) in one window is high, all three is critical (100).
// A lone signal is capped below the default threshold: each benign behaviour
// on its own is ambiguous, only combinations are attacks.
import { CORE_SIGNALS, type Finding, type Signal } from '../rules/types.js';

export const DEFAULT_WINDOW_MS = 30_000;
export const SINGLE_SIGNAL_CAP = 60;
export const TWO_CORE_FLOOR = 80;

export interface Composite {
  level: 'high' | 'critical';
  signals: Signal[];
  rules: string[];
  from: number;
  to: number;
}

export interface WindowScore {
  score: number;
  signals: Signal[];
  composite?: Composite;
  // the finding at which this window's score was reached
  at: number;
}

export function effectivePoints(f: Finding): number {
  return f.allowlisted ? f.allowlisted.points : f.points;
}

function scoreWindow(findings: Finding[]): { score: number; signals: Signal[]; core: Signal[] } {
  const best = new Map<Signal, number>();
  let standalone = 0;
  for (const f of findings) {
    const p = effectivePoints(f);
    if (p <= 0) continue;
    best.set(f.signal, Math.max(best.get(f.signal) ?? 0, p));
    if (f.signal === 'visibility') standalone = Math.max(standalone, p);
  }
  const signals = [...best.keys()];
  const core = signals.filter((s) => CORE_SIGNALS.includes(s));
  let score = Math.min(100, [...best.values()].reduce((a, b) => a + b, 0));
  if (signals.length === 1) score = Math.min(score, Math.max(SINGLE_SIGNAL_CAP, standalone));
  if (core.length === 2) score = Math.max(score, TWO_CORE_FLOOR);
  if (core.length === 3) score = 100;
  return { score, signals, core };
}

// Best score over every window ending at a finding. Findings are few per package
// (deduplicated), so the quadratic scan is cheap and obviously correct.
export function scoreFindings(findings: readonly Finding[], windowMs = DEFAULT_WINDOW_MS): WindowScore {
  const sorted = [...findings].sort((a, b) => a.at - b.at || a.sequence - b.sequence);
  let best: WindowScore = { score: 0, signals: [], at: 0 };
  for (let i = 0; i < sorted.length; i++) {
    const end = sorted[i] as Finding;
    const inWindow = sorted.slice(0, i + 1).filter((f) => end.at - f.at <= windowMs);
    const { score, signals, core } = scoreWindow(inWindow);
    if (score > best.score) {
      best = { score, signals, at: end.at };
      if (core.length >= 2) {
        const coreFindings = inWindow.filter((f) => core.includes(f.signal) && effectivePoints(f) > 0);
        best.composite = {
          level: core.length === 3 ? 'critical' : 'high',
          signals: core,
          rules: [...new Set(coreFindings.map((f) => f.rule))],
          from: Math.min(...coreFindings.map((f) => f.at)),
          to: end.at,
        };
      }
    }
  }
  return best;
}
