// guarded-install's programmatic API.
export { run, type RunOptions, type RunResult } from './run.js';
export { analyze, type AnalyzeOptions, type AnalyzeResult } from './analyze.js';
export { EXIT, GuardedInstallError, UsageError, TracerUnavailableError } from './errors.js';
export { VERSION } from './version.js';
export type { Report } from './report/report.js';
export type { GuardedEvent } from './events/types.js';
