// Follows the Node preload's record files (`<script id>.<pid>.preload`) in the
// run directory. Under the proc tracer they are a source of events; under strace
// they only name hosts: node resolved `registry.example.com` before connecting
// to its IP, and allowlists are written in host names.
import { watch, type FSWatcher } from 'node:fs';
import type { GuardedEvent, LifecycleScript } from '../events/types.js';
import { PreloadReader } from '../tracers/preload/index.js';

// inotify wakes us on every write; the sweep is the safety net
const SWEEP_MS = 100;

export class PreloadFeed {
  private readonly reader: PreloadReader;
  private watcher: FSWatcher | undefined;
  private sweep: NodeJS.Timeout | undefined;

  // emit undefined: hostnames only (strace mode); the records are read, their events dropped
  private readonly eventsWanted: boolean;

  constructor(private readonly runDir: string, scriptFor: (id: string) => LifecycleScript | undefined, emit: ((event: GuardedEvent) => void) | undefined) {
    this.reader = new PreloadReader(runDir, scriptFor, emit ?? (() => {}));
    this.eventsWanted = emit !== undefined;
  }

  start(): void {
    // under strace, names are looked up on demand (hostnameFor reads anew), and
    // a watch on the run directory would wake us on every line of every trace
    if (this.eventsWanted) {
      try {
        this.watcher = watch(this.runDir, (_type, name) => {
          if (name?.toString().endsWith('.preload')) this.reader.scan();
        });
        this.watcher.on('error', () => this.reader.scan());
      } catch {
        // the sweep still reads everything
      }
    }
    this.sweep = setInterval(() => this.reader.scan(), SWEEP_MS);
    this.sweep.unref();
  }

  scan(): void {
    this.reader.scan();
  }

  // The host name node resolved to this IP, reading any record written since.
  hostnameFor(ip: string): string | undefined {
    return this.reader.hostnameFor(ip) ?? (this.reader.scan(), this.reader.hostnameFor(ip));
  }

  finish(): void {
    this.watcher?.close();
    if (this.sweep) clearInterval(this.sweep);
    this.reader.finish();
  }
}
