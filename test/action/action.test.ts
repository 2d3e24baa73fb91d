// action.yml: valid for a real validator (@action-validator/cli, the
// SchemaStore action and workflow schemas), thin over the CLI, and its run
// steps map inputs to flags correctly. The steps are executed with bash as a
// runner would (test/action/composite.ts) against a stand-in CLI that records
// its argv; test/e2e/action.test.ts runs them against the real one.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PassThrough } from 'node:stream';
import { GithubReporter } from '../../src/report/github.js';
import type { Report } from '../../src/report/report.js';
import { loadAction, parseOutputFile, runCompositeAction, type ActionResult } from './composite.js';
import { makeRoot, removeRoot, scrubbedEnv } from './sim-netns.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const VALIDATOR = join(REPO, 'node_modules', '.bin', 'action-validator');
const roots: string[] = [];
afterAll(() => roots.forEach(removeRoot));

function validate(file: string): { code: number | null; output: string } {
  const r = spawnSync(VALIDATOR, [file], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('action.yml passes a real validator', () => {
  it('@action-validator/cli accepts action.yml', () => {
    expect(validate(join(REPO, 'action.yml'))).toEqual({ code: 0, output: '' });
  });

  it('@action-validator/cli accepts the example workflow', () => {
    expect(validate(join(REPO, 'examples', 'github-workflow.yml'))).toEqual({ code: 0, output: '' });
  });

  it('the validator bites: a composite step without `shell` or an output without `value` is rejected', () => {
    const root = makeRoot('action-invalid');
    roots.push(root);
    mkdirSync(join(root, 'broken'));
    const text = readFileSync(join(REPO, 'action.yml'), 'utf8').replace('      shell: bash\n', '').replace('    value: ${{ steps.guard.outputs.verdict }}\n', '');
    writeFileSync(join(root, 'broken', 'action.yml'), text);
    const r = validate(join(root, 'broken', 'action.yml'));
    expect(r.code).toBe(1);
    expect(r.output).toContain('"path": "/runs/steps/0/shell"');
    expect(r.output).toContain('"path": "/outputs/verdict/value"');
  });
});

describe('action.yml is thin over the CLI', () => {
  const action = loadAction(REPO);
  const yml = parse(readFileSync(join(REPO, 'action.yml'), 'utf8')) as { inputs: Record<string, { default?: string }>; outputs: Record<string, { value: string }> };

  it('declares the inputs and outputs of the issue', () => {
    expect(Object.keys(yml.inputs)).toEqual(expect.arrayContaining(['command', 'args', 'threshold', 'allowlist', 'mode', 'report', 'sarif', 'events', 'require-tracer', 'doctor']));
    expect(Object.keys(yml.outputs).sort()).toEqual(['blocked-packages', 'max-score', 'report-path', 'sarif-path', 'verdict']);
    for (const [name, o] of Object.entries(yml.outputs)) expect(o.value).toBe(`\${{ steps.guard.outputs.${name} }}`);
  });

  it('every step is a bash run step; scripts never interpolate inputs (they come in through env)', () => {
    for (const step of action.runs.steps) {
      expect(step.shell).toBe('bash');
      expect(step.run).not.toMatch(/\$\{\{/);
    }
  });

  it('the CLI (--github) writes every output the action exposes', () => {
    const root = makeRoot('action-outputs');
    roots.push(root);
    const report = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'sarif', 'axios-plain-crypto.report.json'), 'utf8')) as Report;
    new GithubReporter({ GITHUB_OUTPUT: join(root, 'output') }).finish(report, { cwd: root, commands: new PassThrough(), reportPath: '/r.json', sarifPath: '/r.sarif' });
    const written = parseOutputFile(readFileSync(join(root, 'output'), 'utf8'));
    for (const name of Object.keys(yml.outputs)) expect(Object.keys(written)).toContain(name);
  });
});

// ── the steps, run with bash against a stand-in CLI ────────────────────────

interface Call {
  argv: string[];
  cwd: string;
}

const FAKE_CLI = `#!/usr/bin/env node
// stand-in for bin/guarded-install.js: records how the action called it
const fs = require('fs');
fs.appendFileSync(process.env.FAKE_CLI_LOG, JSON.stringify({ argv: process.argv.slice(2), cwd: process.cwd() }) + '\\n');
if (process.argv[2] !== 'doctor' && process.env.GITHUB_OUTPUT) {
  fs.appendFileSync(process.env.GITHUB_OUTPUT, 'verdict=pass\\nmax-score=12\\nblocked-packages=\\nreport-path=/r/report.json\\nsarif-path=/r/results.sarif\\n');
}
process.exit(Number(process.env.FAKE_CLI_EXIT || 0));
`;

function fakeAction(label: string): { root: string; actionDir: string; workspace: string; runnerTemp: string; log: string } {
  const root = makeRoot(`action-${label}`);
  roots.push(root);
  const actionDir = join(root, 'action');
  mkdirSync(join(actionDir, 'bin'), { recursive: true });
  mkdirSync(join(actionDir, 'dist'), { recursive: true });
  copyFileSync(join(REPO, 'action.yml'), join(actionDir, 'action.yml'));
  writeFileSync(join(actionDir, 'bin', 'guarded-install.js'), FAKE_CLI);
  writeFileSync(join(actionDir, 'dist', 'cli.js'), '// built\n');
  const workspace = join(root, 'ws');
  mkdirSync(join(workspace, 'app'), { recursive: true });
  return { root, actionDir, workspace, runnerTemp: join(root, 'runner-temp'), log: join(root, 'calls.ndjson') };
}

function calls(log: string): Call[] {
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Call) : [];
}

async function runFake(label: string, inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}): Promise<{ result: ActionResult; calls: Call[]; runnerTemp: string; workspace: string }> {
  const f = fakeAction(label);
  const result = await runCompositeAction({
    actionDir: f.actionDir,
    inputs,
    workspace: f.workspace,
    runnerTemp: f.runnerTemp,
    env: { ...scrubbedEnv(), HOME: join(f.root, 'home'), FAKE_CLI_LOG: f.log, ...env },
  });
  return { result, calls: calls(f.log), runnerTemp: f.runnerTemp, workspace: f.workspace };
}

describe('the run steps map inputs to CLI flags', () => {
  it('defaults: npm ci, --github, report and SARIF in RUNNER_TEMP, --require-tracer strace', async () => {
    const { result, calls: c, runnerTemp, workspace } = await runFake('defaults', {});
    expect(result.failed).toBe(false);
    expect(result.steps.map((s) => [s.name, s.skipped, s.code])).toEqual([['Ensure strace', false, 0], ['Prepare guarded-install', false, 0], ['guarded-install doctor', true, null], ['guarded-install', false, 0]]);
    expect(c).toEqual([{ argv: ['ci', '--github', '--report', join(runnerTemp, 'guarded-install', 'report.json'), '--sarif', join(runnerTemp, 'guarded-install', 'results.sarif'), '--require-tracer', 'strace', '--'], cwd: workspace }]);
    expect(result.outputs).toEqual({ verdict: 'pass', 'max-score': '12', 'blocked-packages': '', 'report-path': '/r/report.json', 'sarif-path': '/r/results.sarif' });
  });

  it('every input reaches its flag; npm args are split on whitespace and never globbed', async () => {
    const { calls: c, workspace } = await runFake('all-inputs', {
      command: 'install',
      args: '--omit=dev   --no-audit *',
      'working-directory': 'app',
      threshold: '80',
      allowlist: 'allow.json',
      mode: 'audit',
      report: 'out/r.json',
      sarif: 'out/r.sarif',
      events: 'out/e.ndjson',
      'require-tracer': 'false',
    });
    expect(c).toEqual([{ argv: ['install', '--github', '--report', 'out/r.json', '--sarif', 'out/r.sarif', '--events', 'out/e.ndjson', '--threshold', '80', '--allowlist', 'allow.json', '--no-kill', '--', '--omit=dev', '--no-audit', '*'], cwd: join(workspace, 'app') }]);
  });

  it('doctor: true runs `guarded-install doctor` first, in the working directory', async () => {
    const { result, calls: c, workspace } = await runFake('doctor', { doctor: 'true', 'working-directory': 'app' });
    expect(result.steps.find((s) => s.name === 'guarded-install doctor')).toMatchObject({ skipped: false, code: 0 });
    expect(c.map((x) => [x.argv.slice(0, 3), x.cwd])).toEqual([[['doctor', '--require-tracer', 'strace'], join(workspace, 'app')], [['ci', '--github', '--report'], join(workspace, 'app')]]);
  });

  it('a failing doctor stops the action before the install', async () => {
    const { result, calls: c } = await runFake('doctor-fails', { doctor: 'true' }, { FAKE_CLI_EXIT: '1' });
    expect(result.failed).toBe(true);
    expect(c.map((x) => x.argv[0])).toEqual(['doctor']);
    expect(result.steps.at(-1)).toMatchObject({ name: 'guarded-install', skipped: true });
  });

  it('the CLI\'s exit code is the step\'s: 3 (blocked) fails the action', async () => {
    const { result } = await runFake('blocked', {}, { FAKE_CLI_EXIT: '3' });
    expect(result.failed).toBe(true);
    expect(result.steps.at(-1)?.code).toBe(3);
    expect(result.outputs.verdict).toBe('pass'); // whatever the CLI wrote stays readable
  });

  it.each([
    ['mode', 'kill-everything', "mode must be block or audit, not 'kill-everything'"],
    ['command', 'publish', "command must be install or ci, not 'publish'"],
  ])('a bad %s fails with an ::error annotation and never runs the CLI', async (input, value, message) => {
    const { result, calls: c } = await runFake(`bad-${input}`, { [input]: value });
    expect(result.failed).toBe(true);
    expect(result.steps.at(-1)?.code).toBe(2);
    expect(result.annotations).toEqual([{ command: 'error', properties: { title: 'guarded-install' }, message }]);
    expect(c).toEqual([]);
  });

  it('an unknown input is refused, as the runner does', async () => {
    await expect(runFake('unknown-input', { treshold: '80' })).rejects.toThrow("Unexpected input 'treshold'");
  });
});

describe('strace on the runner', () => {
  // a PATH with the tools the steps use, no strace, and a stand-in sudo
  function toolsWithoutStrace(root: string, sudo: string): string {
    const bin = join(root, 'bin');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['bash', 'head', 'mkdir', 'cat']) {
      const found = (process.env.PATH ?? '').split(delimiter).map((d) => join(d, tool)).find((p) => existsSync(p));
      if (found) symlinkSync(found, join(bin, tool));
    }
    symlinkSync(process.execPath, join(bin, 'node'));
    writeFileSync(join(bin, 'sudo'), sudo);
    chmodSync(join(bin, 'sudo'), 0o755);
    return bin;
  }

  it('says it is installing strace, and installs it with sudo apt-get install -y strace', async () => {
    const root = makeRoot('action-strace');
    roots.push(root);
    const sudoLog = join(root, 'sudo.log');
    const bin = toolsWithoutStrace(root, `#!/bin/sh\necho "$*" >> ${JSON.stringify(sudoLog)}\n`);
    expect(spawnSync('sh', ['-c', 'command -v strace'], { env: { PATH: bin } }).status).not.toBe(0);
    const { result } = await runFake('strace-install', {}, { PATH: bin });
    const ensure = result.steps[0]!;
    expect(ensure).toMatchObject({ name: 'Ensure strace', code: 0 });
    expect(result.annotations[0]).toEqual({ command: 'notice', properties: { title: 'guarded-install' }, message: 'strace is not installed on this runner: installing it with sudo apt-get install -y strace' });
    expect(readFileSync(sudoLog, 'utf8')).toBe('apt-get install -y strace\n');
  });

  it('warns when strace cannot be installed (the CLI then fails on --require-tracer)', async () => {
    const root = makeRoot('action-strace-fails');
    roots.push(root);
    const bin = toolsWithoutStrace(root, '#!/bin/sh\nexit 100\n');
    const { result } = await runFake('strace-fails', {}, { PATH: bin });
    expect(result.steps[0]).toMatchObject({ code: 0 });
    expect(result.annotations.map((a) => [a.command, a.message])).toEqual([
      ['notice', 'strace is not installed on this runner: installing it with sudo apt-get install -y strace'],
      ['warning', 'could not install strace; lifecycle scripts cannot be traced'],
    ]);
  });

  it('uses the strace it finds', async () => {
    const strace = execFileSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' }).trim();
    const { result } = await runFake('strace-present', {});
    expect(result.steps[0]?.stdout).toMatch(new RegExp(`^guarded-install: using strace -- version \\S+ at ${strace}\\n$`));
  });
});
