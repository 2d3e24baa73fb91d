// What a detection rule is, and what it produces.
import type { EventKind, GuardedEvent } from '../events/types.js';
import type { RuleContext } from './context.js';

export const SIGNALS = ['process', 'egress', 'churn', 'payload-drop', 'persistence', 'credential-read', 'cross-package-write', 'outlives-install', 'visibility'] as const;
export type Signal = (typeof SIGNALS)[number];
// The three-signal pattern of real npm supply-chain attacks.
export const CORE_SIGNALS: readonly Signal[] = ['process', 'egress', 'churn'];

export type Severity = 'low' | 'medium' | 'high' | 'critical';

// What the rule saw, for the report: pids, argv, addresses, paths, time.
export type Evidence = Record<string, string | number | boolean | string[] | number[] | undefined>;

export interface Rule {
  id: string;
  signal: Signal;
  severity: Severity;
  points: number;
  mitre: string;
  description: string;
  on: readonly EventKind[];
  // returns extra evidence when the event matches, undefined otherwise
  match: (event: GuardedEvent, ctx: RuleContext) => Evidence | undefined;
  // a rule that may cross the threshold on its own (visibility loss)
  standalone?: boolean;
}

export interface Finding {
  rule: string;
  signal: Signal;
  severity: Severity;
  points: number;
  mitre: string;
  description: string;
  evidence: Evidence;
  at: number; // ms epoch of the event that matched
  sequence: number; // event.sequence of that event
  package: { name: string; version: string; path: string };
  lifecycle: string;
  scriptId: string;
  occurrences: number;
  allowlisted?: { entry: string; points: number };
}
