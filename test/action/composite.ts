// Executes a composite action's `run:` steps the way the GitHub Actions runner
// does: inputs (action.yml defaults + given) substituted into `${{ }}`
// expressions, `if:` evaluated, each step's script written to a file and run
// with `bash --noprofile --norc -eo pipefail <file>` in its working-directory,
// a fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY file per step, step outputs read
// back, workflow commands (::error ...) parsed from the output, and the
// action's outputs evaluated from `steps.<id>.outputs.<name>`. It understands
// only the expression forms it implements and throws on any other, so the
// action can't grow an expression this test silently mis-evaluates.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

interface ActionYml {
  inputs?: Record<string, { default?: string; required?: boolean }>;
  outputs?: Record<string, { value: string }>;
  runs: { using: string; steps: Array<{ id?: string; name?: string; if?: string; run?: string; uses?: string; shell?: string; env?: Record<string, string>; 'working-directory'?: string }> };
}

export interface WorkflowCommand {
  command: 'error' | 'warning' | 'notice';
  properties: Record<string, string>;
  message: string;
}

export interface StepResult {
  id?: string;
  name: string;
  skipped: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

export interface ActionResult {
  steps: StepResult[];
  failed: boolean;
  outputs: Record<string, string>;
  summary: string;
  annotations: WorkflowCommand[];
}

export type Spawner = (argv: string[], o: { cwd: string; env: NodeJS.ProcessEnv }) => Promise<{ code: number | null; stdout: string; stderr: string }>;

export const plainSpawner: Spawner = (argv, o) =>
  new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });

export interface RunActionOptions {
  actionDir: string; // holds action.yml; becomes GITHUB_ACTION_PATH
  inputs: Record<string, string>;
  workspace: string; // GITHUB_WORKSPACE
  runnerTemp: string; // RUNNER_TEMP
  env: NodeJS.ProcessEnv; // the job's environment (PATH, HOME, ...)
  spawner?: Spawner;
}

// ── expressions ────────────────────────────────────────────────────────────

interface Context {
  inputs: Record<string, string>;
  steps: Record<string, { outputs: Record<string, string>; outcome: string }>;
  github: Record<string, string>;
  runner: Record<string, string>;
  failed: boolean;
}

function lookup(ref: string, ctx: Context): string {
  const parts = ref.split('.');
  const [head, ...rest] = parts;
  if (head === 'inputs' && rest.length === 1) {
    const v = ctx.inputs[rest[0] as string];
    if (v === undefined) throw new Error(`expression refers to undeclared input ${ref}`);
    return v;
  }
  if (head === 'steps' && rest.length === 3 && rest[1] === 'outputs') return ctx.steps[rest[0] as string]?.outputs[rest[2] as string] ?? '';
  if ((head === 'github' || head === 'runner') && rest.length === 1) {
    const v = ctx[head][rest[0] as string];
    if (v === undefined) throw new Error(`unsupported context value ${ref}`);
    return v;
  }
  throw new Error(`unsupported expression reference: ${ref}`);
}

const REF = /^[a-z][\w-]*(\.[a-zA-Z_][\w-]*)*$/;

export function evaluate(expr: string, ctx: Context): string | boolean {
  const e = expr.trim();
  if (e === 'always()') return true;
  if (e === 'success()') return !ctx.failed;
  if (e === 'failure()') return ctx.failed;
  if (e === 'cancelled()') return false;
  const cmp = /^(\S+)\s*(==|!=)\s*'([^']*)'$/.exec(e);
  if (cmp) {
    const [, ref, op, lit] = cmp as unknown as [string, string, string, string];
    if (!REF.test(ref)) throw new Error(`unsupported expression: ${expr}`);
    // comparisons of strings are case-insensitive in Actions expressions
    const equal = lookup(ref, ctx).toLowerCase() === lit.toLowerCase();
    return op === '==' ? equal : !equal;
  }
  if (REF.test(e)) return lookup(e, ctx);
  throw new Error(`unsupported expression: ${expr}`);
}

export function substitute(text: string, ctx: Context): string {
  return text.replace(/\$\{\{(.*?)\}\}/g, (_m, inner: string) => String(evaluate(inner, ctx)));
}

function condition(ifExpr: string | undefined, ctx: Context): boolean {
  if (ifExpr === undefined) return !ctx.failed;
  const inner = /^\s*\$\{\{(.*)\}\}\s*$/.exec(ifExpr)?.[1] ?? ifExpr;
  const usesStatus = /\b(always|success|failure|cancelled)\(\)/.test(inner);
  const value = evaluate(inner, ctx);
  const truthy = typeof value === 'boolean' ? value : value !== '';
  // without a status function, `success() &&` is implied
  return usesStatus ? truthy : truthy && !ctx.failed;
}

// ── file commands and workflow commands ────────────────────────────────────

export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] as string);
      if (i >= lines.length) throw new Error(`GITHUB_OUTPUT: no closing delimiter ${delimiter} for ${name}`);
      out[name] = value.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`GITHUB_OUTPUT: invalid line ${JSON.stringify(line)}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

const unescapeData = (s: string): string => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
const unescapeProperty = (s: string): string => unescapeData(s).replace(/%3A/g, ':').replace(/%2C/g, ',');

export function parseWorkflowCommands(text: string): WorkflowCommand[] {
  const out: WorkflowCommand[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^::(error|warning|notice)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!m) continue;
    const properties: Record<string, string> = {};
    for (const pair of (m[2] ?? '').split(',').filter(Boolean)) {
      const eq = pair.indexOf('=');
      properties[pair.slice(0, eq)] = unescapeProperty(pair.slice(eq + 1));
    }
    out.push({ command: m[1] as WorkflowCommand['command'], properties, message: unescapeData(m[3] ?? '') });
  }
  return out;
}

// ── running the steps ──────────────────────────────────────────────────────

export function loadAction(actionDir: string): ActionYml {
  return parse(readFileSync(join(actionDir, 'action.yml'), 'utf8')) as ActionYml;
}

export async function runCompositeAction(o: RunActionOptions): Promise<ActionResult> {
  const action = loadAction(o.actionDir);
  if (action.runs.using !== 'composite') throw new Error('not a composite action');
  const inputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.inputs ?? {})) inputs[name] = spec.default ?? '';
  for (const [name, value] of Object.entries(o.inputs)) {
    if (!(name in inputs)) throw new Error(`Unexpected input '${name}'`);
    inputs[name] = value;
  }
  const ctx: Context = {
    inputs,
    steps: {},
    github: { action_path: o.actionDir, workspace: o.workspace },
    runner: { temp: o.runnerTemp, os: 'Linux' },
    failed: false,
  };
  const fileCommands = join(o.runnerTemp, '_runner_file_commands');
  const scripts = join(o.runnerTemp, '_temp');
  mkdirSync(fileCommands, { recursive: true });
  mkdirSync(scripts, { recursive: true });
  const spawner = o.spawner ?? plainSpawner;
  const result: ActionResult = { steps: [], failed: false, outputs: {}, summary: '', annotations: [] };

  for (const [index, step] of action.runs.steps.entries()) {
    const name = step.name ?? step.id ?? `step ${index + 1}`;
    if (step.uses !== undefined || step.run === undefined) throw new Error(`${name}: only run steps are supported`);
    if (step.shell !== 'bash') throw new Error(`${name}: only shell: bash is supported`);
    if (!condition(step.if, ctx)) {
      result.steps.push({ ...(step.id ? { id: step.id } : {}), name, skipped: true, code: null, stdout: '', stderr: '', outputs: {} });
      continue;
    }
    const outputFile = join(fileCommands, `set_output_${randomUUID()}`);
    const summaryFile = join(fileCommands, `step_summary_${randomUUID()}`);
    writeFileSync(outputFile, '');
    writeFileSync(summaryFile, '');
    const script = join(scripts, `${randomUUID()}.sh`);
    writeFileSync(script, substitute(step.run, ctx));
    const wd = step['working-directory'] === undefined ? o.workspace : substitute(step['working-directory'], ctx);
    const cwd = isAbsolute(wd) ? wd : join(o.workspace, wd);
    const stepEnv: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = substitute(String(v), ctx);
    const env: NodeJS.ProcessEnv = {
      ...o.env,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: o.workspace,
      GITHUB_ACTION_PATH: o.actionDir,
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      RUNNER_TEMP: o.runnerTemp,
      RUNNER_OS: 'Linux',
      ...stepEnv,
    };
    const run = await spawner(['bash', '--noprofile', '--norc', '-eo', 'pipefail', script], { cwd, env });
    const outputs = existsSync(outputFile) ? parseOutputFile(readFileSync(outputFile, 'utf8')) : {};
    result.summary += existsSync(summaryFile) ? readFileSync(summaryFile, 'utf8') : '';
    result.annotations.push(...parseWorkflowCommands(run.stdout), ...parseWorkflowCommands(run.stderr));
    result.steps.push({ ...(step.id ? { id: step.id } : {}), name, skipped: false, code: run.code, stdout: run.stdout, stderr: run.stderr, outputs });
    if (step.id) ctx.steps[step.id] = { outputs, outcome: run.code === 0 ? 'success' : 'failure' };
    if (run.code !== 0) ctx.failed = true;
  }
  result.failed = ctx.failed;
  for (const [name, spec] of Object.entries(action.outputs ?? {})) result.outputs[name] = substitute(spec.value, ctx);
  return result;
}
