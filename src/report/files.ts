// Output files are written whole or not at all: a temp file in the same
// directory, then rename. A reader never sees half a report.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
}

export function writeFileAtomic(target: string, content: string): void {
  const tmp = tempPathFor(target);
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

// NDJSON event log: streamed into a temp file during the run, renamed at the end.
export class NdjsonWriter {
  private readonly fd: number;
  private readonly tmp: string;
  private buffer: string[] = [];
  private size = 0;

  constructor(private readonly target: string) {
    this.tmp = tempPathFor(target);
    this.fd = openSync(this.tmp, 'w');
  }

  write(doc: unknown): void {
    const line = `${JSON.stringify(doc)}\n`;
    this.buffer.push(line);
    this.size += line.length;
    if (this.size > 1 << 16) this.flush();
  }

  flush(): void {
    if (this.buffer.length === 0) return;
    writeSync(this.fd, this.buffer.join(''));
    this.buffer = [];
    this.size = 0;
  }

  close(): void {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.tmp, this.target);
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    rmSync(this.tmp, { force: true });
  }
}
