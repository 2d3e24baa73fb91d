// A lifecycle script run the way npm runs it through our shim, without npm:
// `<shim> -c <script>` in the package's folder, with npm's identity variables
// and the tracer settings the supervisor would pass.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SHIM_PATH } from '../../src/supervisor/supervise.js';
import { findOnPath, straceArgs } from '../../src/tracers/strace/command.js';

export const strace = findOnPath('strace');

export interface ShimRun {
  runDir: string;
  pkgDir: string;
  script: string;
  pkg: { name: string; version: string };
  tracer?: 'strace' | 'none';
}

export function spawnShim(run: ShimRun): ChildProcess {
  return spawn(SHIM_PATH, ['-c', run.script], {
    cwd: run.pkgDir,
    stdio: 'ignore',
    env: {
      PATH: process.env.PATH,
      GUARDED_INSTALL_RUN_DIR: run.runDir,
      GUARDED_INSTALL_SHIM_TRACER: run.tracer ?? 'strace',
      GUARDED_INSTALL_STRACE: strace ?? '',
      GUARDED_INSTALL_STRACE_ARGS: straceArgs().join(' '),
      npm_package_name: run.pkg.name,
      npm_package_version: run.pkg.version,
      npm_lifecycle_event: 'postinstall',
      npm_package_json: join(run.pkgDir, 'package.json'),
    },
  });
}
