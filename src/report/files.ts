// Output files are written whole or not at all: a temp file in the same
// directory, then rename. A reader never sees half a report, and a failure
// (read-only or full disk) leaves nothing behind but one clear error.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describeFsError, OutputError } from '../errors.js';

// A fresh name next to the target, opened with O_EXCL: a file or symlink
// planted at a guessable name is never followed or truncated.
function openTemp(target: string): { fd: number; tmp: string } {
  for (let attempt = 0; ; attempt++) {
    const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      return { fd: openSync(tmp, 'wx', 0o644), tmp };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 8) throw error;
    }
  }
}

export function writeFileAtomic(target: string, content: string, what = 'output file'): void {
  let tmp: string | undefined;
  try {
    const opened = openTemp(target);
    tmp = opened.tmp;
    try {
      writeSync(opened.fd, content);
      fsyncSync(opened.fd);
    } finally {
      closeSync(opened.fd);
    }
    renameSync(tmp, target);
  } catch (error) {
    if (tmp) rmSync(tmp, { force: true });
    throw new OutputError(`cannot write the ${what} ${target}: ${describeFsError(error)}`, { cause: error });
  }
}

// NDJSON event log: streamed into a temp file during the run, renamed at the
// end. A write that fails mid-run (disk full) does not stop the install: the
// log stops, and close() reports it (the temp file is removed, the target
// never appears half written). If the process ends without close() or
// abort(), the temp file goes with it.
export class NdjsonWriter {
  private readonly fd: number;
  private readonly tmp: string;
  private buffer: string[] = [];
  private size = 0;
  private failure: unknown;
  private open = true;
  private readonly onExit = (): void => this.discard();
  // events not in the log because a write failed
  lost = 0;

  constructor(private readonly target: string) {
    try {
      const opened = openTemp(target);
      this.fd = opened.fd;
      this.tmp = opened.tmp;
    } catch (error) {
      throw new OutputError(`cannot write the event log ${target}: ${describeFsError(error)}`, { cause: error });
    }
    process.once('exit', this.onExit);
  }

  write(doc: unknown): void {
    if (this.failure !== undefined || !this.open) {
      this.lost++;
      return;
    }
    const line = `${JSON.stringify(doc)}\n`;
    this.buffer.push(line);
    this.size += line.length;
    if (this.size > 1 << 16) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0 || this.failure !== undefined) return;
    const lines = this.buffer.length;
    try {
      writeSync(this.fd, this.buffer.join(''));
    } catch (error) {
      this.failure = error;
      this.lost += lines;
    }
    this.buffer = [];
    this.size = 0;
  }

  close(): void {
    if (!this.open) return;
    this.flush();
    try {
      if (this.failure !== undefined) throw this.failure;
      fsyncSync(this.fd);
      this.release();
      renameSync(this.tmp, this.target);
    } catch (error) {
      this.discard();
      throw new OutputError(`cannot write the event log ${this.target}: ${describeFsError(error)}${this.lost > 0 ? ` (${this.lost} events could not be written)` : ''}`, { cause: error });
    }
  }

  abort(): void {
    this.discard();
  }

  private release(): void {
    if (!this.open) return;
    this.open = false;
    process.off('exit', this.onExit);
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }

  private discard(): void {
    this.release();
    rmSync(this.tmp, { force: true });
  }
}
