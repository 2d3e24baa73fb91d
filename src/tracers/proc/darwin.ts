// The macOS backend of the proc tracer: one `ps` per poll for the process
// table, one `lsof` per poll for the open files and sockets of the processes
// we track. macOS has no /proc: no session ids (no detach events), no
// environment of other processes (no attribution of escaped daemons), argv
// only as ps joins it, start times to the second. Untested on a Mac here:
// only its parsers are, against output in the documented formats.
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import { parseLsof, parseLsofAddress } from './lsof.js';
import { parsePs, splitCommand, type PsRow } from './ps.js';
import type { Connection, OpenFds, ProcImage, ProcInfo, ProcSource, Resolved, ScriptEnv } from './source.js';

// Runs a command and returns its stdout, also when it exits non-zero (lsof
// does when one of the pids is gone).
export type Run = (file: string, args: string[]) => string;

const defaultRun: Run = (file, args) => {
  try {
    return execFileSync(file, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000, maxBuffer: 64 << 20 });
  } catch (error) {
    const stdout = (error as { stdout?: unknown }).stdout;
    return typeof stdout === 'string' ? stdout : '';
  }
};

interface LsofSocket {
  connection?: Connection;
  listening: boolean;
}

export class DarwinSource implements ProcSource {
  private table = new Map<number, PsRow>();
  private sockets = new Map<string, LsofSocket>();

  constructor(private readonly run: Run = defaultRun) {}

  pids(): number[] {
    this.table = new Map(parsePs(this.run('ps', ['-A', '-o', 'pid=,ppid=,lstart=,command='])).map((r) => [r.pid, r]));
    return [...this.table.keys()];
  }

  info(pid: number): ProcInfo | undefined {
    const row = this.table.get(pid);
    if (!row) return undefined;
    const argv0 = splitCommand(row.command)[0] ?? '';
    const zombie = row.command === '<defunct>' || row.command.startsWith('(');
    // exec shows only as a different command line
    return { pid, ppid: row.ppid, state: zombie ? 'Z' : 'S', comm: basename(argv0), startMs: row.startMs, imageKey: row.command };
  }

  image(pid: number): ProcImage | undefined {
    const row = this.table.get(pid);
    const args = row ? splitCommand(row.command) : [];
    const executable = args[0];
    return executable === undefined ? undefined : { executable, args };
  }

  environ(): ScriptEnv | undefined {
    return undefined;
  }

  fds(pids: readonly number[]): Map<number, OpenFds> {
    const out = new Map<number, OpenFds>();
    if (pids.length === 0) return out;
    const procs = parseLsof(this.run('lsof', ['-nP', '-w', '-F', 'pcfatPnTdi', '-p', pids.join(',')]));
    const listening = new Set<number>();
    const sockets = new Map<string, LsofSocket>();
    for (const proc of procs) {
      const fds: OpenFds = { sockets: [], files: [] };
      for (const file of proc.files) {
        const addr = parseLsofAddress(file);
        if (addr && file.id) {
          fds.sockets.push(file.id);
          if (file.state === 'LISTEN') listening.add(addr.local.port);
          sockets.set(file.id, {
            listening: file.state === 'LISTEN',
            ...(addr.remote ? { connection: { transport: addr.transport, family: addr.family, local: addr.local, remote: addr.remote, state: file.state ?? 'ESTABLISHED', inbound: false } } : {}),
          });
        } else if (file.type === 'REG' && file.name.startsWith('/')) {
          fds.files.push(file.name);
        }
      }
      out.set(proc.pid, fds);
    }
    for (const s of sockets.values()) if (s.connection?.transport === 'tcp' && listening.has(s.connection.local.port)) s.connection.inbound = true;
    this.sockets = sockets;
    return out;
  }

  netns(): string {
    return 'host';
  }

  // socket ids are kernel addresses, unique machine-wide: any pid will do
  connections(_pid: number, ids: ReadonlySet<string>): Resolved {
    const out: Resolved = new Map();
    for (const id of ids) {
      const s = this.sockets.get(id);
      if (s?.connection) out.set(id, s.connection);
      else if (s?.listening) out.set(id, null);
    }
    return out;
  }
}
