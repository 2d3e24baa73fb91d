// Serialization of events to ECS documents (NDJSON lines) and back.
//
// Every document is Elastic Common Schema conformant: ECS fields carry ECS
// types and allowed values, and what ECS has no field for lives in our own
// custom namespaces (`npm.*`, `npm_script.*`, `syscall.*`, `run.*`), never
// inside an ECS field set. The in-memory model keeps a few such facts in
// handier places; toEcs moves them, fromEcs puts them back for `analyze`.
import { readFileSync } from 'node:fs';
import { arch, hostname, platform, release, type } from 'node:os';
import type { GuardedEvent } from './types.js';

export const ECS_VERSION = '8.11.0';

// Custom (non-ECS) top-level namespaces we write; documented in the README.
export const CUSTOM_NAMESPACES = ['npm', 'npm_script', 'syscall', 'run'] as const;

export interface EcsHost {
  hostname: string;
  name: string;
  id: string;
  architecture: string;
  os: { type: string; platform: string; kernel: string };
}

// ECS host.os.type allows linux, macos, unix, windows, ios, android.
function ecsOsType(osType: string): string {
  const t = osType.toLowerCase();
  return t === 'darwin' ? 'macos' : t === 'windows_nt' ? 'windows' : ['linux', 'macos', 'unix', 'windows', 'ios', 'android'].includes(t) ? t : 'unix';
}

function machineId(): string | undefined {
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (id) return id;
    } catch {
      // not here
    }
  }
  return undefined;
}

let cachedHost: EcsHost | undefined;

// host.* for every document: EQL sequences join on host.id.
export function ecsHost(): EcsHost {
  cachedHost ??= {
    hostname: hostname(),
    name: hostname(),
    id: machineId() ?? hostname(),
    architecture: arch(),
    os: { type: ecsOsType(type()), platform: platform(), kernel: release() },
  };
  return cachedHost;
}

type Doc = Record<string, unknown>;
const isObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

export function toEcs(event: GuardedEvent, host: EcsHost = ecsHost()): Doc {
  const { kind: _kind, ...rest } = event;
  const doc: Doc = { ...rest };
  const custom = doc as Doc & { tracer?: unknown; outcome_action?: unknown };
  const run: Doc = isObject(doc.run) ? { ...doc.run } : {};
  // tracer-notice: which tracer; process-outlived-*: what we did to the process
  if (custom.tracer !== undefined) run.tracer = custom.tracer;
  if (custom.outcome_action !== undefined) run.outcome_action = custom.outcome_action;
  delete custom.tracer;
  delete custom.outcome_action;
  if (Object.keys(run).length > 0) doc.run = run;
  // process-end: ECS has process.uptime (seconds) and no field for the signal
  if (isObject(doc.process) && ('signal' in doc.process || 'uptime_ms' in doc.process)) {
    const { signal, uptime_ms: uptimeMs, ...proc } = doc.process as Doc & { signal?: string; uptime_ms?: number };
    if (typeof uptimeMs === 'number') proc.uptime = Math.round(uptimeMs / 1000);
    doc.process = proc;
    if (signal !== undefined) doc.syscall = { ...(isObject(doc.syscall) ? doc.syscall : {}), signal };
  }
  const own = isObject(doc.host) ? (doc.host as { hostname?: string; os?: Doc }) : {};
  doc.host = { ...host, ...own, os: { ...host.os, ...(own.os ?? {}), type: ecsOsType(String(own.os?.type ?? host.os.type)) } };
  doc.event = { ...(doc.event as Doc), module: 'guarded_install', dataset: 'guarded_install.events' };
  doc.ecs = { version: ECS_VERSION };
  return doc;
}

// The inverse of toEcs for the fields our rules and reporters read. Logs
// written before these mappings existed pass through unchanged.
export function fromEcs(doc: Doc, action: GuardedEvent['kind']): GuardedEvent {
  const out: Doc = { ...doc, kind: action };
  const run = isObject(doc.run) ? (doc.run as Doc) : undefined;
  if (run && action === 'tracer-notice' && run.tracer !== undefined && out.tracer === undefined) out.tracer = run.tracer;
  if (run && run.outcome_action !== undefined && out.outcome_action === undefined) out.outcome_action = run.outcome_action;
  if (isObject(doc.process)) {
    const proc: Doc = { ...doc.process };
    const syscall = isObject(doc.syscall) ? doc.syscall : undefined;
    if (syscall?.signal !== undefined && proc.signal === undefined) proc.signal = syscall.signal;
    if (typeof proc.uptime === 'number' && proc.uptime_ms === undefined) proc.uptime_ms = proc.uptime * 1000;
    out.process = proc;
  }
  return out as unknown as GuardedEvent;
}
