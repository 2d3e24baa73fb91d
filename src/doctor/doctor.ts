// `guarded-install doctor`: what protection does this machine actually get?
// Static checks (tracer, ptrace, npm, evidence dir, run dir), then a live one:
// a harmless canary package installed under the real supervisor must be
// detected and stopped. Exit 0 healthy, 1 unhealthy, 2 --require-tracer unmet.
import { resolve } from 'node:path';
import { Chalk } from 'chalk';
import { EXIT } from '../errors.js';
import { judgeCanary, runCanary } from './canary.js';
import { evidenceDirCheck, npmCheck, npmVersion, probeTracer, runDirCheck, type Check } from './checks.js';

export interface DoctorOptions {
  cwd: string;
  requireTracer?: 'strace';
  json?: boolean;
  verbose?: boolean;
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface DoctorResult {
  exitCode: number;
  healthy: boolean;
  reason?: string;
  checks: Check[];
}

const LABEL: Record<Check['id'], string> = { tracer: 'tracer', ptrace: 'ptrace', npm: 'npm', 'evidence-dir': 'evidence dir', 'run-dir': 'run dir', canary: 'canary' };

export async function doctor(options: DoctorOptions): Promise<DoctorResult> {
  const env = options.env ?? process.env;
  const stderr = options.stderr ?? process.stderr;
  const stdout = options.stdout ?? process.stdout;
  const c = new Chalk({ level: !env.NO_COLOR && (Boolean(env.FORCE_COLOR) || stderr.isTTY === true) ? 1 : 0 });
  const print = (check: Check): void => {
    const mark = check.ok ? c.green('✔') : c.red('✖');
    stderr.write(`  ${mark} ${LABEL[check.id].padEnd(12)} ${check.detail}\n`);
    if (!check.ok && check.fix) stderr.write(`    ${c.dim(`fix: ${check.fix}`)}\n`);
  };
  const finish = (checks: Check[], exitCode: number, reason?: string): DoctorResult => {
    const result: DoctorResult = { exitCode, healthy: exitCode === EXIT.pass, ...(reason ? { reason } : {}), checks };
    stderr.write(exitCode === EXIT.pass
      ? `${c.bold.green('healthy')}: lifecycle scripts are traced, scored and stopped on this machine\n`
      : `${c.bold.red('unhealthy')}: ${reason}\n`);
    if (options.json) stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return result;
  };

  stderr.write(`${c.bold('guarded-install doctor')}\n`);
  const checks: Check[] = [];
  const add = (...list: Check[]): void => {
    for (const check of list) {
      checks.push(check);
      print(check);
    }
  };
  const tracer = await probeTracer(env);
  add(...tracer);
  const tracerOk = tracer.every((t) => t.ok);
  if (options.requireTracer === 'strace' && !tracerOk) {
    const why = tracer.find((t) => !t.ok) as Check;
    return finish(checks, EXIT.usage, `--require-tracer strace: ${why.id === 'tracer' ? why.detail : `ptrace ${why.detail}`}`);
  }
  const npm = npmCheck(await npmVersion(env));
  add(npm, evidenceDirCheck(resolve(options.cwd)), runDirCheck(env));
  if (!npm.ok) return finish(checks, 1, `npm: ${npm.detail}`);

  stderr.write(c.dim('  … installing the canary (a harmless package whose postinstall spawns a shell, connects to loopback and erases its own script)\n'));
  let verdict;
  try {
    verdict = judgeCanary(await runCanary({ env, verbose: options.verbose === true, stderr }));
  } catch (error) {
    verdict = { check: { id: 'canary' as const, ok: false, detail: `could not install the canary: ${(error as Error).message}` }, scriptShellSeen: false };
  }
  add(verdict.check);
  const failed = checks.find((ch) => !ch.ok);
  return failed ? finish(checks, 1, failed.id === 'canary' ? `canary ${failed.detail}` : `${LABEL[failed.id]}: ${failed.detail}`) : finish(checks, EXIT.pass);
}
