// A scripted process table for the tracker's unit tests, and fake scripts.
import type { EventKind, GuardedEvent, LifecycleScript } from '../../../src/events/types.js';
import type { Connection, OpenFds, ProcImage, ProcInfo, ProcSource, Resolved, ScriptEnv } from '../../../src/tracers/proc/source.js';

export interface FakeProc {
  info: ProcInfo;
  image?: ProcImage;
  env?: ScriptEnv;
  fds?: OpenFds;
}

export class FakeSource implements ProcSource {
  private cpu = 0;
  readonly procs = new Map<number, FakeProc>();
  readonly sockets = new Map<string, Connection | null>();
  readonly calls = { environ: [] as number[], connections: [] as string[][], image: [] as number[] };

  add(pid: number, ppid: number, opts: { comm?: string; startMs?: number; sid?: number; imageKey?: string; args?: string[]; cwd?: string; env?: ScriptEnv; state?: string } = {}): FakeProc {
    const comm = opts.comm ?? opts.args?.[0]?.split('/').pop() ?? 'proc';
    const args = opts.args ?? [comm];
    const proc: FakeProc = {
      info: { pid, ppid, sid: opts.sid ?? 100, state: opts.state ?? 'S', comm, startMs: opts.startMs ?? 1000, imageKey: opts.imageKey ?? `img-${pid}` },
      image: { executable: args[0]!.startsWith('/') ? args[0]! : `/usr/bin/${args[0]}`, args, cwd: opts.cwd ?? '/w' },
      ...(opts.env ? { env: opts.env } : {}),
    };
    this.procs.set(pid, proc);
    return proc;
  }

  // exec: a new image in the same process
  exec(pid: number, args: string[]): void {
    const p = this.procs.get(pid)!;
    p.info.imageKey = `${p.info.imageKey}+`;
    p.info.comm = args[0]!.split('/').pop()!;
    p.image = { ...p.image!, executable: args[0]!.startsWith('/') ? args[0]! : `/usr/bin/${args[0]}`, args };
  }

  // a poll costs 0.05 ms of CPU
  cpuMs(): number {
    this.cpu += 0.05;
    return this.cpu;
  }

  remove(pid: number): void {
    this.procs.delete(pid);
  }

  pids(): number[] {
    return [...this.procs.keys()].sort((a, b) => a - b);
  }

  info(pid: number): ProcInfo | undefined {
    const p = this.procs.get(pid);
    return p ? { ...p.info } : undefined;
  }

  image(pid: number): ProcImage | undefined {
    this.calls.image.push(pid);
    const p = this.procs.get(pid);
    return p?.info.state === 'Z' ? undefined : p?.image;
  }

  environ(pid: number): ScriptEnv | undefined {
    this.calls.environ.push(pid);
    return this.procs.get(pid)?.env;
  }

  fds(pids: readonly number[]): Map<number, OpenFds> {
    const out = new Map<number, OpenFds>();
    for (const pid of pids) {
      const p = this.procs.get(pid);
      if (p) out.set(pid, p.fds ?? { sockets: [], files: [] });
    }
    return out;
  }

  netns(): string {
    return 'net:[1]';
  }

  connections(_pid: number, ids: ReadonlySet<string>): Resolved {
    this.calls.connections.push([...ids]);
    const out: Resolved = new Map();
    for (const id of ids) if (this.sockets.has(id)) out.set(id, this.sockets.get(id) ?? null);
    return out;
  }
}

export function fakeScript(id: string, shimPid: number, path = '/w/node_modules/evil'): LifecycleScript {
  return { id, name: `pkg-${id}`, version: '1.0.0', event: 'postinstall', packageJson: `${path}/package.json`, path, command: 'node install.js', shell: '/bin/sh', shimPid, startedAt: 0 };
}

export function ofKind<K extends EventKind>(events: GuardedEvent[], kind: K): Array<Extract<GuardedEvent, { kind: K }>> {
  return events.filter((e): e is Extract<GuardedEvent, { kind: K }> => e.kind === kind);
}

export function tcp(ip: string, port: number, state = 'ESTABLISHED', inbound = false): Connection {
  return { transport: 'tcp', family: ip.includes(':') ? 'ipv6' : 'ipv4', local: { ip: '10.0.0.2', port: 40000 }, remote: { ip, port }, state, inbound };
}
