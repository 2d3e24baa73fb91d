// Constructors that fill the ECS boilerplate of an event from its attribution.
import type { Attribution, GuardedEvent, LifecycleScript, ProcessRef } from './types.js';

type Distribute<T> = T extends GuardedEvent ? Omit<T, '@timestamp' | 'event' | 'package' | 'npm'> & { ts: number; outcome?: 'success' | 'failure' | 'unknown' } : never;
export type EventInput = Distribute<GuardedEvent>;

const CATEGORY: { [K in GuardedEvent['kind']]: [string, string] } = {
  'run-start': ['host', 'start'],
  'process-outlived-script': ['process', 'info'],
  'script-start': ['process', 'start'],
  'script-end': ['process', 'end'],
  'process-start': ['process', 'start'],
  'process-end': ['process', 'end'],
  'process-detach': ['process', 'change'],
  'network-connect': ['network', 'connection'],
  'dns-query': ['network', 'protocol'],
  'file-write': ['file', 'change'],
  'file-delete': ['file', 'deletion'],
  'file-rename': ['file', 'change'],
  'file-link': ['file', 'creation'],
  'dir-create': ['file', 'creation'],
  'sensitive-read': ['file', 'access'],
  'process-outside-script': ['process', 'info'],
  'process-outlived-install': ['process', 'info'],
  'tracer-notice': ['host', 'info'],
};

export function scriptAttribution(script: LifecycleScript, ancestry: number[]): Attribution {
  return {
    package: { name: script.name, version: script.version, path: script.path },
    npm: { lifecycle_event: script.event, script_id: script.id, ancestry },
  };
}

// Events not tied to a lifecycle script (npm tree watch, tracer notices).
export const UNATTRIBUTED: Attribution = {
  package: { name: '', version: '', path: '' },
  npm: { lifecycle_event: '', script_id: '', ancestry: [] },
};

// Called for every traced event (hundreds of thousands in a flood): plain
// property copies, no object rest/spread, which cost V8 several times more.
export function buildEvent(input: EventInput, attribution: Attribution): GuardedEvent {
  const out: Record<string, unknown> = {};
  for (const key in input) if (key !== 'ts' && key !== 'outcome') out[key] = input[key as keyof EventInput];
  const [category, type] = CATEGORY[input.kind];
  const eventType = input.kind === 'file-write' && (input.syscall.flags.includes('O_CREAT') || input.syscall.name === 'creat') ? 'creation' : type;
  const event: Record<string, unknown> = { kind: 'event', action: input.kind, category: [category], type: [eventType], sequence: 0 };
  if (input.outcome) event.outcome = input.outcome;
  out['@timestamp'] = new Date(input.ts).toISOString();
  out.event = event;
  out.package = attribution.package;
  out.npm = attribution.npm;
  return out as unknown as GuardedEvent;
}

export function processRef(pid: number, fields: Omit<ProcessRef, 'pid'> = {}): ProcessRef {
  return { pid, ...fields };
}

export function eventTime(event: GuardedEvent): number {
  return Date.parse(event['@timestamp']);
}
