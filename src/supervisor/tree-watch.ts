// Polls npm's whole process tree (pidtree) for processes no lifecycle-script
// shim started: npm's own helpers (git) are expected, anything else is code we
// are not tracing, and the report must say so.
import { readFileSync, readlinkSync } from 'node:fs';
import pidtree from 'pidtree';

export interface OutsideProcess {
  pid: number;
  ppid: number;
  args: string[];
  cwd?: string;
  seenAt: number;
}

export interface TreeWatchOptions {
  rootPid: number;
  intervalMs: number;
  // true when every script process is ptraced from birth (strace tracer)
  scriptsAreTraced: boolean;
  isScriptRoot: (pid: number) => boolean;
  onOutside: (proc: OutsideProcess) => void;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

function readCwd(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

function isTraced(pid: number): boolean {
  const status = readProc(pid, 'status');
  const tracer = status ? /TracerPid:\s*(\d+)/.exec(status)?.[1] : undefined;
  return tracer !== undefined && tracer !== '0';
}

export class TreeWatch {
  private timer: NodeJS.Timeout | undefined;
  private readonly judged = new Set<number>();
  private candidates = new Set<number>();
  private busy = false;
  polls = 0;

  constructor(private readonly options: TreeWatchOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const list = await pidtree(this.options.rootPid, { advanced: true }).catch(() => []);
      this.polls++;
      const parent = new Map(list.map((e) => [e.pid, e.ppid]));
      const next = new Set<number>();
      for (const { pid, ppid } of list) {
        if (this.judged.has(pid) || this.insideScript(pid, parent)) continue;
        // judge a pid only on its second sighting: a shim that just started
        // has not written its identity yet
        if (!this.candidates.has(pid)) {
          next.add(pid);
          continue;
        }
        this.judged.add(pid);
        const cmdline = readProc(pid, 'cmdline');
        if (cmdline === undefined) continue; // already gone
        const cwd = readCwd(pid);
        this.options.onOutside({ pid, ppid, args: cmdline.split('\0').filter(Boolean), ...(cwd ? { cwd } : {}), seenAt: Date.now() });
      }
      this.candidates = next;
    } finally {
      this.busy = false;
    }
  }

  private insideScript(pid: number, parent: Map<number, number>): boolean {
    if (this.options.scriptsAreTraced && isTraced(pid)) return true;
    for (let cur: number | undefined = pid, hops = 0; cur !== undefined && hops < 64; cur = parent.get(cur), hops++) {
      if (cur === this.options.rootPid) return false;
      if (this.options.isScriptRoot(cur)) return true;
    }
    return false;
  }
}
