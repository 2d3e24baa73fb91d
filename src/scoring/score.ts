// Scoring a package's findings: 0-100, correlated within a time window. Per
// signal the strongest finding counts; signals add up. Two core signals
// (process, egress, churn) in one window is high, all three is critical (100).
// A lone signal is capped below the default threshold: each benign behaviour
// on its own is ambiguous, only combinations are attacks.
import type { Finding, Signal } from '../rules/types.js';

export const DEFAULT_WINDOW_MS = 30_000;
export const SINGLE_SIGNAL_CAP = 60;

// Combinations of signals that are attacks, not coincidences, and the score
// they guarantee when they meet in one window. Data, like the rules.
export interface Combination {
  id: string;
  signals: readonly Signal[];
  floor: number;
  level: 'high' | 'critical';
  description: string;
}

export const COMBINATIONS: readonly Combination[] = [
  { id: 'GI-COMBO-001', signals: ['process', 'egress', 'churn'], floor: 100, level: 'critical', description: 'all three core signals: unexpected process, egress, erasure of its own files' },
  { id: 'GI-COMBO-002', signals: ['process', 'egress'], floor: 80, level: 'high', description: 'unexpected process and egress' },
  { id: 'GI-COMBO-003', signals: ['process', 'churn'], floor: 80, level: 'high', description: 'unexpected process and erasure of its own files' },
  { id: 'GI-COMBO-004', signals: ['egress', 'churn'], floor: 80, level: 'high', description: 'egress and erasure of its own files' },
  { id: 'GI-COMBO-005', signals: ['credential-read', 'egress'], floor: 80, level: 'high', description: 'credential reads and egress: exfiltration' },
  { id: 'GI-COMBO-006', signals: ['process', 'outlives-install'], floor: 75, level: 'high', description: 'a detached or spawned process that outlives its script: a second stage' },
];

export interface Composite {
  id: string;
  level: 'high' | 'critical';
  description: string;
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

function scoreWindow(findings: Finding[]): { score: number; signals: Signal[]; combination?: Combination } {
  const best = new Map<Signal, number>();
  let standalone = 0;
  for (const f of findings) {
    const p = effectivePoints(f);
    if (p <= 0) continue;
    best.set(f.signal, Math.max(best.get(f.signal) ?? 0, p));
    if (f.signal === 'visibility') standalone = Math.max(standalone, p);
  }
  const signals = [...best.keys()];
  let score = Math.min(100, [...best.values()].reduce((a, b) => a + b, 0));
  if (signals.length === 1) score = Math.min(score, Math.max(SINGLE_SIGNAL_CAP, standalone));
  // the strongest combination present sets the floor
  const combination = COMBINATIONS.filter((c) => c.signals.every((s) => best.has(s))).sort((a, b) => b.floor - a.floor)[0];
  if (combination) score = Math.max(score, combination.floor);
  return combination ? { score, signals, combination } : { score, signals };
}

// Best score over every window ending at a finding. Findings are few per package
// (deduplicated), so the quadratic scan is cheap and obviously correct.
export function scoreFindings(findings: readonly Finding[], windowMs = DEFAULT_WINDOW_MS): WindowScore {
  const sorted = [...findings].sort((a, b) => a.at - b.at || a.sequence - b.sequence);
  let best: WindowScore = { score: 0, signals: [], at: 0 };
  for (let i = 0; i < sorted.length; i++) {
    const end = sorted[i] as Finding;
    const inWindow = sorted.slice(0, i + 1).filter((f) => end.at - f.at <= windowMs);
    const { score, signals, combination } = scoreWindow(inWindow);
    if (score > best.score || (combination && !best.composite && score === best.score)) {
      best = { score, signals, at: end.at };
      if (combination) {
        const parts = inWindow.filter((f) => combination.signals.includes(f.signal) && effectivePoints(f) > 0);
        best.composite = {
          id: combination.id,
          level: combination.level,
          description: combination.description,
          signals: [...combination.signals],
          rules: [...new Set(parts.map((f) => f.rule))],
          from: Math.min(...parts.map((f) => f.at)),
          to: end.at,
        };
      }
    }
  }
  return best;
}
