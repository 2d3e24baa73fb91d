// How the collector learns that the run directory changed: inotify when calm,
// polling while traces run hot next to a pinned script.
// Why: inotify wakes us on every line strace writes, and waking us costs the
// writing strace a cross-CPU wake-up (a 100,000-file flood alone under strace,
// pinned: 4.7 s; 7.3 s with a reader woken per write; 4.6 s with a reader
// polling every 10 ms). Not unpinned: there our wake-ups happen to keep the
// CPUs out of idle, and the same flood took 24 s polled against 8 s.
import { readdirSync, watch, type FSWatcher } from 'node:fs';

// Traces written this fast (lines per second, all scripts) while a script is
// pinned are polled every POLL_MS, until CALM_SWEEPS sweeps in a row see less
// than a quarter of that, or no pin.
export const FOLLOWING = { hotLinesPerSecond: 2_000, pollMs: 10, calmSweeps: 10 } as const;

export class RunDirFollower {
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private calmSweeps = 0;
  private last = { at: Date.now(), lines: 0 };

  constructor(
    private readonly runDir: string,
    private readonly onFile: (name: string) => void,
    private readonly onError: () => void,
  ) {}

  get mode(): 'inotify' | 'polling' {
    return this.poll ? 'polling' : 'inotify';
  }

  start(): void {
    try {
      this.watcher = watch(this.runDir, (_type, filename) => {
        if (filename) this.onFile(filename.toString());
      });
      this.watcher.on('error', this.onError);
    } catch {
      this.watcher = undefined; // the collector's sweep still reads everything
    }
  }

  // On every sweep: `lines` is the running count of trace lines read.
  sweep(lines: number, pinned: boolean): void {
    const now = Date.now();
    const rate = ((lines - this.last.lines) * 1000) / Math.max(1, now - this.last.at);
    this.last = { at: now, lines };
    if (!this.poll) {
      if (rate < FOLLOWING.hotLinesPerSecond || !pinned) return;
      this.watcher?.close();
      this.watcher = undefined;
      this.calmSweeps = 0;
      this.poll = setInterval(() => this.readDir(), FOLLOWING.pollMs);
      this.poll.unref();
      return;
    }
    if (rate >= FOLLOWING.hotLinesPerSecond / 4 && pinned) {
      this.calmSweeps = 0;
      return;
    }
    if (++this.calmSweeps < FOLLOWING.calmSweeps) return;
    clearInterval(this.poll);
    this.poll = undefined;
    this.start();
    this.readDir(); // whatever was written before the watch was set
  }

  finish(): void {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
  }

  // Every file of the run directory to onFile; false if it cannot be read.
  readDir(): boolean {
    let names: string[];
    try {
      names = readdirSync(this.runDir);
    } catch {
      return false;
    }
    for (const name of names) this.onFile(name);
    return true;
  }
}
