// The Node preload tracer: preload/guarded-preload.cjs writes records from
// inside every node process of a lifecycle script; this reads them back as the
// same normalized events the strace tracer emits.
//
// What it cannot see: anything a process other than node does (sh, curl,
// python: only their start, when node spawned them); native addons and
// process.binding calls; writes through an fd opened earlier (the open is
// seen), ftruncate/fchmod and FileHandle methods; node processes started
// without NODE_OPTIONS or the GUARDED_INSTALL_* variables (spawn with
// `env: {}`); Bun and Deno (they ignore NODE_OPTIONS); code that restores the original
// functions or tampers with its record files (it runs in the same process).
// Records say less than strace in places: synchronous spawns carry no child
// pid, tcp connects are recorded at the attempt (result EINPROGRESS, as strace
// shows node's non-blocking connect), callback and promise fs calls are
// recorded when they complete, and reads only of files that are not code
// outside node_modules (the reader keeps the credential paths).
import { fileURLToPath } from 'node:url';

export { PreloadReader, type PreloadReaderOptions, type PreloadReaderStats } from './reader.js';
export { parsePreloadLine, type PreloadRecord, type PreloadOp } from './records.js';
export { openFlags, parseServer, recordToEvents, recordToInputs, startInfo, UNKNOWN_PID, type ProcessInfo, type RecordContext } from './events.js';

// Absolute path of the preload, for NODE_OPTIONS="--require <path>": three
// levels up from src/tracers/preload/ and dist/tracers/preload/ alike.
export function preloadPath(): string {
  return fileURLToPath(new URL('../../../preload/guarded-preload.cjs', import.meta.url));
}
