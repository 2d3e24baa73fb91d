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

export function buildEvent(input: EventInput, attribution: Attribution): GuardedEvent {
  const { ts, outcome, ...rest } = input;
  const [category, type] = CATEGORY[input.kind];
  const eventType = input.kind === 'file-write' && (input.syscall.flags.includes('O_CREAT') || input.syscall.name === 'creat') ? 'creation' : type;
  return {
    ...rest,
    '@timestamp': new Date(ts).toISOString(),
    event: {
      kind: 'event',
      action: input.kind,
      category: [category],
      type: [eventType],
      sequence: 0,
      ...(outcome ? { outcome } : {}),
    },
    package: attribution.package,
    npm: attribution.npm,
  } as GuardedEvent;
}

export function processRef(pid: number, fields: Omit<ProcessRef, 'pid'> = {}): ProcessRef {
  return { pid, ...fields };
}

export function eventTime(event: GuardedEvent): number {
  return Date.parse(event['@timestamp']);
}
