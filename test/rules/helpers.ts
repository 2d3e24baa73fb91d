// Test helpers: build event sequences the way the strace assembler does (a root
// shell with ancestry [], children whose ancestry is the chain of parent pids,
// process refs that carry the executable) without spawning anything.
import { buildEvent, eventTime, type EventInput } from '../../src/events/build.js';
import type { Attribution, GuardedEvent, ProcessRef, VisibilityFacts } from '../../src/events/types.js';
import { RULES } from '../../src/rules/catalog.js';
import { RuleContext, type HostFacts } from '../../src/rules/context.js';
import type { Finding, Signal } from '../../src/rules/types.js';

export const HOST: HostFacts = { home: '/home/u', tempDirs: ['/tmp'], resolvers: ['10.0.0.53'], projectRoot: '/proj' };
export const PKG = '/proj/node_modules/pkg';
export const T0 = Date.parse('2026-03-31T12:00:00.000Z');
export const NODE = '/usr/bin/node';
export const SH = '/bin/sh';

export interface ScriptSpec {
  id: string;
  name: string;
  version: string;
  path: string;
  event: string;
  command: string;
}

// Shared by every emitter of one run: event.sequence is global and increasing.
export class Sequence {
  private n = 0;
  next(): number {
    return ++this.n;
  }
}

interface Proc {
  ppid?: number;
  executable?: string;
  args?: string[];
}

function attribution(spec: ScriptSpec, ancestry: number[]): Attribution {
  return {
    package: { name: spec.name, version: spec.version, path: spec.path },
    npm: { lifecycle_event: spec.event, script_id: spec.id, ancestry },
  };
}

export function finalize(input: EventInput, attr: Attribution, sequence: number): GuardedEvent {
  const e = buildEvent(input, attr);
  e.event.sequence = sequence;
  return e;
}

// The events of one lifecycle script. Times are milliseconds after T0.
export class ScriptEmitter {
  readonly procs = new Map<number, Proc>();
  constructor(
    readonly spec: ScriptSpec,
    readonly seq: Sequence = new Sequence(),
    readonly rootPid = 100,
  ) {
    this.procs.set(rootPid, {});
  }

  private ancestry(pid: number): number[] {
    const chain: number[] = [];
    let cur = this.procs.get(pid)?.ppid;
    while (cur !== undefined && !chain.includes(cur) && cur !== pid) {
      chain.push(cur);
      cur = this.procs.get(cur)?.ppid;
    }
    return chain;
  }

  ref(pid: number): ProcessRef {
    const p = this.procs.get(pid) ?? {};
    const ref: ProcessRef = { pid };
    if (p.ppid !== undefined) ref.parent = { pid: p.ppid };
    if (p.executable) {
      ref.executable = p.executable;
      ref.name = p.executable.split('/').pop() ?? p.executable;
    }
    if (p.args) ref.args = p.args;
    return ref;
  }

  emit(input: EventInput, pid: number, ancestry?: number[]): GuardedEvent {
    return finalize(input, attribution(this.spec, ancestry ?? this.ancestry(pid)), this.seq.next());
  }

  start(t = 0): GuardedEvent {
    const ev = this.emit({ kind: 'script-start', ts: T0 + t, process: { pid: this.rootPid, working_directory: this.spec.path, args: [SH, '-c', this.spec.command] }, npm_script: { command: this.spec.command, shell: SH } }, this.rootPid, []);
    return ev;
  }

  // execve in `pid` (a new child of `ppid` when given, else the same process)
  exec(t: number, pid: number, executable: string, args: string[], ppid?: number): GuardedEvent {
    const prior = this.procs.get(pid) ?? {};
    this.procs.set(pid, { ...prior, ...(ppid !== undefined ? { ppid } : {}), executable, args });
    const ref = this.ref(pid);
    const name = executable.split('/').pop() ?? executable;
    return this.emit({ kind: 'process-start', ts: T0 + t, process: { ...ref, executable, name, args } }, pid);
  }

  connect(t: number, pid: number, ip: string, port: number, extra: { transport?: 'tcp' | 'udp' | 'unix'; domain?: string } = {}): GuardedEvent {
    const v6 = ip.includes(':');
    return this.emit({
      kind: 'network-connect',
      ts: T0 + t,
      process: this.ref(pid),
      destination: { ip, port, address: ip, ...(extra.domain ? { domain: extra.domain } : {}) },
      network: { transport: extra.transport ?? 'tcp', type: v6 ? 'ipv6' : 'ipv4' },
      syscall: { name: 'connect', result: 'ok' },
    }, pid);
  }

  unixConnect(t: number, pid: number, path: string): GuardedEvent {
    return this.emit({ kind: 'network-connect', ts: T0 + t, process: this.ref(pid), destination: { address: path }, network: { transport: 'unix' }, syscall: { name: 'connect', result: 'ok' } }, pid);
  }

  dns(t: number, pid: number, name: string, ip: string): GuardedEvent {
    return this.emit({ kind: 'dns-query', ts: T0 + t, process: this.ref(pid), dns: { question: { name } }, destination: { ip, port: 53, address: ip } }, pid);
  }

  // create: O_CREAT (a new file); otherwise an existing file is rewritten
  write(t: number, pid: number, path: string, create = true): GuardedEvent {
    return this.emit({ kind: 'file-write', ts: T0 + t, process: this.ref(pid), file: { path }, syscall: { name: 'openat', flags: create ? ['O_WRONLY', 'O_CREAT', 'O_TRUNC'] : ['O_WRONLY'] } }, pid);
  }

  del(t: number, pid: number, path: string, type: 'file' | 'dir' = 'file'): GuardedEvent {
    return this.emit({ kind: 'file-delete', ts: T0 + t, process: this.ref(pid), file: { path, type }, syscall: { name: type === 'dir' ? 'rmdir' : 'unlink' } }, pid);
  }

  rename(t: number, pid: number, from: string, to: string): GuardedEvent {
    return this.emit({ kind: 'file-rename', ts: T0 + t, process: this.ref(pid), file: { path: to }, syscall: { name: 'rename', source_path: from } }, pid);
  }

  link(t: number, pid: number, target: string, path: string): GuardedEvent {
    return this.emit({ kind: 'file-link', ts: T0 + t, process: this.ref(pid), file: { path, target_path: target }, syscall: { name: 'link' } }, pid);
  }

  read(t: number, pid: number, path: string, ok = true): GuardedEvent {
    return this.emit({ kind: 'sensitive-read', ts: T0 + t, outcome: ok ? 'success' : 'failure', process: this.ref(pid), file: { path }, syscall: { name: 'openat' } }, pid);
  }

  detach(t: number, pid: number): GuardedEvent {
    return this.emit({ kind: 'process-detach', ts: T0 + t, process: this.ref(pid) }, pid);
  }

  end(t: number, pid: number, code = 0): GuardedEvent {
    return this.emit({ kind: 'process-end', ts: T0 + t, process: { ...this.ref(pid), exit_code: code } }, pid);
  }

  scriptEnd(t: number, code = 0): GuardedEvent {
    return this.emit({ kind: 'script-end', ts: T0 + t, process: { pid: this.rootPid, exit_code: code } }, this.rootPid, []);
  }

  // a visibility notice about this script (what the trace collector emits)
  notice(t: number, pid: number, run: VisibilityFacts, message = run.notice): GuardedEvent {
    return this.emit({ kind: 'tracer-notice', ts: T0 + t, process: this.ref(pid), message, tracer: 'strace', run }, pid);
  }

  outlived(t: number, pid: number, kind: 'process-outlived-script' | 'process-outlived-install' = 'process-outlived-script'): GuardedEvent {
    return this.emit({ kind, ts: T0 + t, process: this.ref(pid), outcome_action: 'left-running' }, pid, []);
  }
}

export function runStart(seq: Sequence, host: HostFacts = HOST, t = 0): GuardedEvent {
  return finalize(
    {
      kind: 'run-start',
      ts: T0 + t,
      process: { pid: 42 },
      run: { home: host.home, temp_dirs: host.tempDirs, resolvers: host.resolvers, project_root: host.projectRoot, tracer: 'strace', npm_args: ['install'] },
      host: { hostname: 'ci', os: { type: 'linux', platform: 'linux' } },
    },
    { package: { name: '', version: '', path: '' }, npm: { lifecycle_event: '', script_id: '', ancestry: [] } },
    seq.next(),
  );
}

export function spec(overrides: Partial<ScriptSpec> = {}): ScriptSpec {
  return { id: 's1', name: 'pkg', version: '1.0.0', path: PKG, event: 'postinstall', command: 'node setup.js', ...overrides };
}

// What the Detector does per event, for rules only: every rule listening to the
// kind is asked, then the context learns from the event.
export function evaluate(ctx: RuleContext, event: GuardedEvent): string[] {
  const ids = RULES.filter((r) => r.on.includes(event.kind) && r.match(event, ctx) !== undefined).map((r) => r.id);
  ctx.observe(event, eventTime(event));
  return ids;
}

// A run with host facts HOST and the script `pkg` (at PKG, `node setup.js`)
// already started; its root pid 100 exec'd node.
export class World {
  readonly ctx: RuleContext;
  readonly seq = new Sequence();
  readonly s: ScriptEmitter;
  constructor(command = 'node setup.js', host: HostFacts = HOST) {
    this.ctx = new RuleContext(host);
    this.s = new ScriptEmitter(spec({ command }), this.seq);
    this.feed(this.s.start());
    this.feed(this.s.exec(1, 100, NODE, ['node', ...command.split(' ').slice(1)]));
  }
  feed(event: GuardedEvent): string[] {
    return evaluate(this.ctx, event);
  }
  // another package's script, started
  other(name: string, id = `s-${name}`, command = 'node install.js', rootPid = 500): ScriptEmitter {
    const e = new ScriptEmitter(spec({ id, name, path: `/proj/node_modules/${name}`, command }), this.seq, rootPid);
    this.feed(e.start());
    this.feed(e.exec(1, rootPid, NODE, ['node', ...command.split(' ').slice(1)]));
    return e;
  }
}

let findingSeq = 0;
export function finding(overrides: Partial<Finding> & { signal: Signal }): Finding {
  findingSeq++;
  return {
    rule: 'GI-TEST-001',
    severity: 'high',
    points: 40,
    mitre: 'T0000',
    description: 'test finding',
    evidence: {},
    at: T0,
    sequence: findingSeq,
    package: { name: 'pkg', version: '1.0.0', path: PKG },
    lifecycle: 'postinstall',
    scriptId: 's1',
    occurrences: 1,
    ...overrides,
  };
}
