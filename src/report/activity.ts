// Per-script tally of what the script did, kept incrementally as events stream
// by, so the report never needs the whole event log in memory.
import type { GuardedEvent } from '../events/types.js';

const SAMPLE_LIMIT = 20;

export interface Sampled {
  count: number;
  samples: string[];
}

export interface ScriptActivity {
  processes: Sampled;
  connections: Sampled;
  dnsQueries: Sampled;
  fileWrites: Sampled;
  fileDeletes: Sampled;
  fileRenames: Sampled;
  sensitiveReads: Sampled;
  detached: Sampled;
}

const empty = (): Sampled => ({ count: 0, samples: [] });

export function emptyActivity(): ScriptActivity {
  return { processes: empty(), connections: empty(), dnsQueries: empty(), fileWrites: empty(), fileDeletes: empty(), fileRenames: empty(), sensitiveReads: empty(), detached: empty() };
}

function add(s: Sampled, sample: string): void {
  s.count++;
  if (s.samples.length < SAMPLE_LIMIT && !s.samples.includes(sample)) s.samples.push(sample);
}

export class ActivityTally {
  private readonly byScript = new Map<string, ScriptActivity>();
  readonly countsByKind: Record<string, number> = {};
  total = 0;

  get(scriptId: string): ScriptActivity {
    let a = this.byScript.get(scriptId);
    if (!a) {
      a = emptyActivity();
      this.byScript.set(scriptId, a);
    }
    return a;
  }

  add(event: GuardedEvent): void {
    this.total++;
    this.countsByKind[event.kind] = (this.countsByKind[event.kind] ?? 0) + 1;
    const id = event.npm.script_id;
    if (!id) return;
    const a = this.get(id);
    switch (event.kind) {
      case 'process-start':
        return add(a.processes, event.process.args.join(' ').slice(0, 200));
      case 'network-connect':
        return add(a.connections, `${event.network.transport} ${event.destination.port === undefined ? event.destination.address : `${event.destination.address}:${event.destination.port}`}`);
      case 'dns-query':
        return add(a.dnsQueries, `${event.dns.question.name} via ${event.destination.address}`);
      case 'file-write':
      case 'file-link':
        return add(a.fileWrites, event.file.path);
      case 'file-delete':
        return add(a.fileDeletes, event.file.path);
      case 'file-rename':
        return add(a.fileRenames, `${event.syscall.source_path} -> ${event.file.path}`);
      case 'sensitive-read':
        return add(a.sensitiveReads, event.file.path);
      case 'process-detach':
        return add(a.detached, String(event.process.pid));
      case 'dir-create':
      case 'run-start':
      case 'process-outlived-script':
      case 'script-start':
      case 'script-end':
      case 'process-end':
      case 'process-outside-script':
      case 'process-outlived-install':
      case 'tracer-notice':
        return;
    }
  }
}
