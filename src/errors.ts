// Every error we raise on purpose carries the exit code of the CLI contract
// (PRODUCT.md §5); the CLI prints it in one place.
export const EXIT = {
  pass: 0,
  usage: 2,
  blocked: 3,
} as const;

export class GuardedInstallError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

// Bad flags, bad values, bad paths.
export class UsageError extends GuardedInstallError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.usage, options);
  }
}

// A required tracer cannot run here (--require-tracer).
export class TracerUnavailableError extends GuardedInstallError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.usage, options);
  }
}

// An output (--report, --sarif, --events, evidence) could not be written: a
// read-only or full disk, a missing folder. Nothing partial is left behind.
export class OutputError extends GuardedInstallError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.usage, options);
  }
}

// `EROFS: read-only file system, open '/x/.r.json.tmp'` -> `read-only file system (EROFS)`
export function describeFsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string') return String(error);
  const text = /^[A-Z0-9]+: ([^,]+)/.exec(e.message)?.[1] ?? e.message;
  return `${text} (${e.code})`;
}
