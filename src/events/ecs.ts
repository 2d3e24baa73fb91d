// Serialization of events to ECS documents (NDJSON lines) and back.
import type { GuardedEvent } from './types.js';

export const ECS_VERSION = '8.11.0';

export function toEcs(event: GuardedEvent): Record<string, unknown> {
  const { kind: _kind, ...doc } = event;
  return { ...doc, ecs: { version: ECS_VERSION } };
}
