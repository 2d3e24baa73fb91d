// The doctor's live check: install a harmless canary package under the real
// supervisor and prove each step of its "attack" was seen and stopped.
// runCanary does the I/O; judgeCanary is the pure verdict over what it saw.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Report } from '../report/report.js';
import type { Check } from './checks.js';

// shipped in the package (package.json "files"); same path from src/ and dist/
export const CANARY_DIR = fileURLToPath(new URL('../../src/doctor/canary/', import.meta.url));
export const CANARY_NAME = 'guarded-install-canary';
// the canary writes its marker this long after erasing its script
const MARKER_DELAY_MS = 2000;

export interface CanaryEvent {
  '@timestamp': string;
  event: { action: string };
  package: { name: string };
  process: { pid: number; name?: string; parent?: { pid: number } };
  destination?: { ip?: string; port?: number };
  file?: { path: string };
}

export interface CanaryObservation {
  exitCode: number;
  report: Pick<Report, 'verdict' | 'blockedPackages' | 'tracer' | 'tracerStatus' | 'killed' | 'packages' | 'response'>;
  events: CanaryEvent[];
  port: number;
  listenerConnections: number;
  markerWritten: boolean;
  // the evidence folder holds a copy of the script the canary erased
  evidenceKept: boolean;
  durationMs: number;
}

// What the canary must have shown: its script ran through our shim, and its
// shell, its loopback connection and its erasure were each traced, and it was
// blocked and killed before it could write its marker.
export function judgeCanary(o: CanaryObservation): { check: Check; scriptShellSeen: boolean } {
  const mine = o.events.filter((e) => e.package.name === CANARY_NAME);
  const scriptShellSeen = mine.some((e) => e.event.action === 'script-start');
  const fail = (detail: string, fix?: string): { check: Check; scriptShellSeen: boolean } => ({ check: { id: 'canary', ok: false, detail, ...(fix ? { fix } : {}) }, scriptShellSeen });
  if (!scriptShellSeen) {
    return fail(o.listenerConnections > 0 ? 'the canary ran but not through guarded-install\'s script-shell: npm ignored script-shell' : 'the canary\'s postinstall never ran (npm ignore-scripts, or allowScripts policy?)', 'check `npm config get ignore-scripts` and `npm config get script-shell`');
  }
  if (o.report.tracer === 'none') return fail(`not traced: ${o.report.tracerStatus.detail}; the canary ran unobserved${o.markerWritten ? ' to the end' : ''}`, 'install strace and allow ptrace (see the tracer and ptrace checks)');
  const seen: string[] = [];
  const missing: string[] = [];
  const node = mine.find((e) => e.event.action === 'process-start' && e.process.name === 'node');
  const shell = mine.find((e) => e.event.action === 'process-start' && e.process.name === 'sh' && node !== undefined && e.process.parent?.pid === node.process.pid);
  (shell ? seen : missing).push('sh spawned by node');
  const connect = mine.find((e) => e.event.action === 'network-connect' && e.destination?.port === o.port);
  (connect ? seen : missing).push(`its connection to 127.0.0.1:${o.port}`);
  const erased = mine.find((e) => e.event.action === 'file-delete' && e.file?.path.endsWith('/canary.js'));
  (erased ? seen : missing).push('the deletion of its install script');
  if (missing.length > 0) return fail(`the tracer missed ${missing.join(', ')} (saw ${seen.join(', ') || 'nothing'})`, 'strace may be too old or filtered; run with GUARDED_INSTALL_STRACE pointing at strace >= 5.3');
  const blocked = o.report.blockedPackages.some((p) => p.startsWith(`${CANARY_NAME}@`));
  if (!blocked || o.exitCode !== 3) {
    const score = o.report.packages.find((p) => p.name === CANARY_NAME)?.score ?? 0;
    return fail(`seen but not blocked: score ${score}, exit ${o.exitCode}`, 'a project allowlist or --threshold may be too lenient; the canary must score >= 70');
  }
  if (o.markerWritten) return fail('blocked, but its process was not killed in time: it ran to its last step', 'check that signals reach script processes (no PID namespace or seccomp rule blocks kill)');
  const evidence = o.evidenceKept ? '; evidence kept (a copy of the script it erased)' : '';
  const latency = o.report.response[0]?.latencyMs;
  return {
    check: { id: 'canary', ok: true, detail: `its postinstall ran through guarded-install's script-shell and was detected${o.report.tracer === 'strace' ? '' : ` by the ${o.report.tracer} tracer`} and stopped in ${(o.durationMs / 1000).toFixed(1)} s: saw ${seen.join(', ')}; blocked (exit 3) and killed${latency !== null && latency !== undefined ? ` ${latency} ms after the deciding event` : ''} before its next step${evidence}` },
    scriptShellSeen,
  };
}

// A gzipped ustar of the canary's few small files under package/, as npm pack
// would make it; no tar or gzip binary needed.
export function packDir(dir: string): Buffer {
  const blocks: Buffer[] = [];
  for (const name of readdirSync(dir).sort()) {
    const body = readFileSync(join(dir, name));
    const header = Buffer.alloc(512);
    const field = (value: string, offset: number, length: number): void => void header.write(value, offset, length, 'utf8');
    const octal = (n: number, length: number): string => `${n.toString(8).padStart(length - 1, '0')}\0`;
    field(`package/${name}`, 0, 100);
    field(octal(0o644, 8), 100, 8);
    field(octal(0, 8), 108, 8);
    field(octal(0, 8), 116, 8);
    field(octal(body.length, 12), 124, 12);
    field(octal(0, 12), 136, 12);
    field('        ', 148, 8);
    field('0', 156, 1);
    field('ustar\0', 257, 6);
    field('00', 263, 2);
    let sum = 0;
    for (const byte of header) sum += byte;
    field(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface CanaryRunOptions {
  env: NodeJS.ProcessEnv;
  verbose: boolean;
  stderr: NodeJS.WritableStream;
}

export async function runCanary(options: CanaryRunOptions): Promise<CanaryObservation> {
  const { run } = await import('../run.js');
  const root = realpathSync(mkdtempSync(join(options.env.TMPDIR || tmpdir(), 'guarded-install-doctor-')));
  const listener = createServer((socket) => {
    connections++;
    socket.on('error', () => {});
    socket.resume().on('end', () => socket.end());
  });
  let connections = 0;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => resolve((listener.address() as AddressInfo).port));
    });
    const project = join(root, 'project');
    mkdirSync(project);
    // a tarball, like a registry package: npm extracts a real copy into node_modules
    const tarball = join(project, `${CANARY_NAME}-1.0.0.tgz`);
    writeFileSync(tarball, packDir(CANARY_DIR));
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({
      name: 'guarded-install-doctor-project',
      version: '1.0.0',
      private: true,
      dependencies: { [CANARY_NAME]: `file:./${CANARY_NAME}-1.0.0.tgz` },
      allowScripts: { [CANARY_NAME]: true, [`file:${tarball}`]: true },
    }, null, 2)}\n`);
    const marker = join(root, 'canary-ran-to-the-end');
    const events = join(root, 'events.ndjson');
    const env: NodeJS.ProcessEnv = { ...options.env, GI_DOCTOR_CANARY_PORT: String(port), GI_DOCTOR_CANARY_MARKER: marker, npm_config_update_notifier: 'false' };
    if (!options.verbose) env.npm_config_loglevel = 'silent';
    const started = Date.now();
    const result = await run({
      command: 'install',
      // no registry, scripts on whatever the user's npmrc says
      npmArgs: ['--offline', '--no-audit', '--no-fund', '--ignore-scripts=false'],
      cwd: project,
      events,
      json: true, // keeps npm's own output off stdout
      quiet: !options.verbose,
      github: false,
      env,
      stdout: sink(),
      stderr: options.verbose ? options.stderr : sink(),
    });
    const durationMs = Date.now() - started;
    const lines = existsSync(events) ? readFileSync(events, 'utf8').split('\n').filter((l) => l.trim() !== '') : [];
    const parsed = lines.map((l) => JSON.parse(l) as CanaryEvent);
    // give the canary the time it needs to reach its last step, had it survived
    const erased = parsed.find((e) => e.package.name === CANARY_NAME && e.event.action === 'file-delete');
    const since = erased ? Date.now() - Date.parse(erased['@timestamp']) : 0;
    await sleep(Math.max(0, MARKER_DELAY_MS + 700 - since));
    const evidenceDir = result.report.packages.find((p) => p.name === CANARY_NAME)?.evidenceDir;
    const evidenceKept = evidenceDir !== undefined && existsSync(join(evidenceDir, 'postinstall', 'canary.js'));
    return { exitCode: result.exitCode, report: result.report, events: parsed, port, listenerConnections: connections, markerWritten: existsSync(marker), evidenceKept, durationMs };
  } finally {
    listener.close();
    rmSync(root, { recursive: true, force: true });
  }
}
