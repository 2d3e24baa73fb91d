// The preload inside real node processes: each fixture runs with NODE_OPTIONS
// as the shim sets it, then the reader turns what it wrote into events. All
// connects stay on loopback; all files stay in the sandbox.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GuardedEvent } from '../../../src/events/types.js';
import { parsePreloadLine, type PreloadRecord } from '../../../src/tracers/preload/index.js';
import { fixture, FIXTURES, ofKind, PRELOAD, readEvents, runNode, SCRIPT_ID, sandbox, type Sandbox } from './helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = sandbox();
});
afterEach(() => sb.cleanup());

function records(): PreloadRecord[] {
  const out: PreloadRecord[] = [];
  for (const name of readdirSync(sb.runDir).sort()) {
    for (const line of readFileSync(join(sb.runDir, name), 'utf8').split('\n')) {
      if (line === '') continue;
      const r = parsePreloadLine(line);
      expect(r, line).toBeDefined();
      if (r) out.push(r);
    }
  }
  return out;
}

const paths = (events: GuardedEvent[]): string[] => events.map((e) => ('file' in e ? e.file.path : ''));

describe('file operations', () => {
  it('reports sync, callback and promise writes, renames, links, mkdirs and deletes with absolute paths', async () => {
    const run = await runNode(sb, [fixture('fs-ops.js'), sb.work]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const { events } = readEvents(sb);
    const w = (name: string) => join(sb.work, name);

    // the process itself comes first, with what the kernel ran
    const first = events[0];
    expect(first?.kind).toBe('process-start');
    const pid = first!.process.pid;
    expect(first!.process).toMatchObject({ executable: process.execPath, name: 'node', working_directory: sb.work, parent: { pid: process.pid } });
    // NODE_OPTIONS is not part of argv
    expect(first!.process.args).toEqual([process.execPath, fixture('fs-ops.js'), sb.work]);
    for (const e of events) {
      expect(e.package).toEqual({ name: 'fixture-pkg', version: '1.0.0', path: sb.work });
      expect(e.npm).toEqual({ lifecycle_event: 'postinstall', script_id: SCRIPT_ID, ancestry: [process.pid] });
      expect(e.process.pid).toBe(pid);
      expect(e.process.executable).toBe(process.execPath);
    }

    const writes = ofKind(events, 'file-write');
    const write = (name: string) => writes.filter((e) => e.file.path === w(name)).map((e) => [e.syscall.name, e.syscall.flags, e.event.type[0]]);
    expect(write('sync-written.txt')).toEqual([
      ['writeFileSync', ['O_WRONLY', 'O_CREAT', 'O_TRUNC'], 'creation'],
      ['appendFileSync', ['O_WRONLY', 'O_CREAT', 'O_APPEND'], 'creation'],
    ]);
    expect(write('sync-opened.txt')).toEqual([
      ['openSync', ['O_WRONLY', 'O_CREAT', 'O_TRUNC'], 'creation'],
      ['openSync', ['O_WRONLY', 'O_APPEND'], 'change'],
    ]);
    expect(write('sync-copy.txt')).toEqual([
      ['copyFileSync', ['O_WRONLY', 'O_CREAT', 'O_TRUNC'], 'creation'],
      ['truncateSync', ['O_TRUNC'], 'change'],
    ]);
    expect(write('sync-cp.txt')).toEqual([['copyFileSync', ['O_WRONLY', 'O_CREAT', 'O_TRUNC'], 'creation']]);
    expect(write('cb-written.txt').map((x) => x[0])).toEqual(['writeFile', 'appendFile']);
    expect(write('cb-opened.txt')).toEqual([['open', ['O_WRONLY', 'O_CREAT', 'O_APPEND'], 'creation']]);
    expect(write('stream.txt')).toEqual([['open', ['O_WRONLY', 'O_CREAT', 'O_TRUNC'], 'creation']]); // createWriteStream
    expect(write('promise-written.txt').map((x) => x[0])).toEqual(['promises.writeFile']);
    expect(write('promise-opened.txt').map((x) => x[0])).toEqual(['promises.open']);

    expect(ofKind(events, 'file-rename').map((e) => [e.syscall.name, e.syscall.source_path, e.file.path])).toEqual([
      ['renameSync', w('sync-copy.txt'), w('sync-renamed.txt')],
      ['rename', w('cb-written.txt'), w('cb-renamed.txt')],
      ['promises.rename', w('promise-written.txt'), w('promise-renamed.txt')],
    ]);
    expect(ofKind(events, 'file-link').map((e) => [e.syscall.name, e.file.target_path, e.file.path])).toEqual([
      ['symlinkSync', 'sync-renamed.txt', w('sync-symlink')],
      ['linkSync', w('sync-renamed.txt'), w('sync-hardlink')],
    ]);
    const made = paths(ofKind(events, 'dir-create'));
    expect(made.slice(0, 4)).toEqual([w('sync-made'), w('sync-made/a'), w('sync-made/a/b'), w('sync-dir')]);
    expect(made[4]).toMatch(new RegExp(`^${w('sync-tmp-')}.{6}$`)); // mkdtemp: the folder it made
    expect(made.slice(5)).toEqual([w('cb-dir'), w('promise-tree'), w('promise-tree/x')]);

    // failed deletes are not deletions; rm's inner rmdir of its own path is not reported twice
    expect(ofKind(events, 'file-delete').map((e) => [e.syscall.name, e.file.path, e.file.type])).toEqual([
      ['unlinkSync', w('sync-hardlink'), 'file'],
      ['rmdirSync', w('sync-dir'), 'dir'],
      ['rmdirSync', w('sync-made/a/b'), 'dir'],
      ['rmdirSync', w('sync-made/a'), 'dir'],
      ['rmSync', w('sync-made'), 'dir'],
      ['rmSync', w('sync-symlink'), 'file'],
      ['rmdir', w('cb-dir'), 'dir'],
      ['unlink', w('cb-renamed.txt'), 'file'],
      ['unlink', w('promise-tree/x/f.txt'), 'file'],
      ['rmdir', w('promise-tree/x'), 'dir'],
      ['promises.rm', w('promise-tree'), 'dir'],
      ['promises.unlink', w('promise-renamed.txt'), 'file'],
    ]);
    // ... but they were recorded, with the error
    expect(records().filter((r) => r.error !== undefined).map((r) => [r.op, r.call, r.error])).toEqual([
      ['rmdir', 'rmdirSync', 'ENOTEMPTY'],
      ['unlink', 'unlinkSync', 'ENOENT'],
      ['rmdir', 'rmdir', 'ENOTEMPTY'],
      ['unlink', 'promises.unlink', 'ENOENT'],
    ]);
    expect(records().find((r) => r.op === 'chmod')).toMatchObject({ path: w('sync-renamed.txt'), mode: 0o755, call: 'chmodSync' });

    // the preload's own record file is never reported
    expect(events.some((e) => 'file' in e && e.file.path.startsWith(sb.runDir))).toBe(false);
    expect(events.at(-1)).toMatchObject({ kind: 'process-end', process: { pid, exit_code: 0 } });
  });

  it('reports reads of possible credential files only, failed ones too', async () => {
    mkdirSync(join(sb.home, '.docker'));
    mkdirSync(join(sb.home, '.aws'));
    mkdirSync(join(sb.home, 'node_modules/x'), { recursive: true });
    for (const f of ['.npmrc', '.docker/config.json', '.aws/credentials', 'notes.txt', 'node_modules/x/secret.txt', 'code.js', 'manifest.json']) writeFileSync(join(sb.home, f), 'x');
    expect(await runNode(sb, [fixture('reads.js')])).toMatchObject({ code: 0, stderr: '' });
    const h = (name: string) => join(sb.home, name);
    expect(records().flatMap((r) => (r.op === 'read' ? [[r.path, r.call, r.error]] : []))).toEqual([
      [h('.npmrc'), 'readFileSync', undefined],
      [h('.docker/config.json'), 'readFileSync', undefined],
      [h('.ssh/id_rsa'), 'readFileSync', 'ENOENT'],
      [h('.aws/credentials'), 'open', undefined], // createReadStream
      [h('notes.txt'), 'promises.readFile', undefined],
    ]);
    const reads = ofKind(readEvents(sb).events, 'sensitive-read');
    expect(reads.map((e) => [e.file.path, e.event.outcome])).toEqual([
      [h('.npmrc'), 'success'],
      [h('.docker/config.json'), 'success'],
      [h('.ssh/id_rsa'), 'failure'],
      [h('.aws/credentials'), 'success'],
    ]);
  });

  it('ES modules: --require runs first and named imports of builtins are patched', async () => {
    expect(await runNode(sb, [fixture('esm.mjs'), sb.work])).toMatchObject({ code: 0, stderr: '' });
    const { events } = readEvents(sb);
    const w = (name: string) => join(sb.work, name);
    expect(paths(ofKind(events, 'file-write'))).toEqual([w('esm.txt')]);
    expect(ofKind(events, 'file-rename').map((e) => e.file.path)).toEqual([w('esm-renamed.txt')]);
    expect(paths(ofKind(events, 'file-delete'))).toEqual([w('esm-renamed.txt')]);
    expect(ofKind(events, 'process-start').map((e) => e.process.args.at(-1))).toContain('--from-esm');
  });
});

describe('child processes', () => {
  it('reports spawn, exec, execFile, fork and the sync variants with argv as executed', async () => {
    expect(await runNode(sb, [fixture('spawn-ops.js'), sb.work])).toMatchObject({ code: 0, stderr: '' });
    const { events, reader } = readEvents(sb);
    const starts = ofKind(events, 'process-start');
    const parent = starts.find((e) => e.process.args.includes(fixture('spawn-ops.js')))!;
    const parentPid = parent.process.pid;
    const spawned = starts.filter((e) => e.process.parent?.pid === parentPid);
    expect(spawned.map((e) => [e.process.name, e.process.args])).toEqual([
      ['true', ['true', '--spawned']],
      ['sh', ['/bin/sh', '-c', 'echo shell-spawned']],
      ['sh', ['/bin/sh', '-c', 'echo exec']],
      ['echo', ['/bin/echo', 'exec-file']],
      ['node', [process.execPath, fixture('child.js'), sb.work]], // fork
      ['true', ['true', '--detached']],
      ['true', ['true', '--spawn-sync']],
      ['sh', ['/bin/sh', '-c', 'true --exec-sync']],
      ['true', ['/bin/true', '--exec-file-sync']],
    ]);
    expect(spawned[0]?.process.working_directory).toBe(sb.work);
    expect(spawned[0]?.process.executable).toMatch(/\/true$/);
    for (const e of spawned) expect(e.npm.ancestry).toEqual([parentPid, process.pid]);
    // the failed spawn ran nothing; sync spawns have no pid in their record
    expect(starts.some((e) => e.process.args[0] === '/no/such/program')).toBe(false);
    expect(spawned.slice(-3).map((e) => e.process.pid)).toEqual([0, 0, 0]);
    expect(spawned.slice(0, -3).every((e) => e.process.pid > 0)).toBe(true);

    // the detached child: setsid, as strace would show
    const detached = spawned[5]!;
    expect(ofKind(events, 'process-detach').map((e) => e.process.pid)).toEqual([detached.process.pid]);

    // the forked node child reports on its own, once started, under its parent
    const child = spawned[4]!;
    expect(starts.filter((e) => e.process.pid === child.process.pid)).toHaveLength(1);
    const childWrite = ofKind(events, 'file-write').find((e) => e.file.path === join(sb.work, 'from-child.txt'));
    expect(childWrite?.process).toMatchObject({ pid: child.process.pid, parent: { pid: parentPid }, name: 'node' });
    expect(childWrite?.npm.ancestry).toEqual([parentPid, process.pid]);

    expect([...reader.seenPids()].sort()).toEqual(expect.arrayContaining([parentPid, ...spawned.slice(0, -3).map((e) => e.process.pid)]));
    expect(records().find((r) => r.op === 'spawn' && r.error !== undefined)).toMatchObject({ file: '/no/such/program', error: 'ENOENT' });
  });
});

describe('names-only mode (under strace)', () => {
  it('GUARDED_INSTALL_PRELOAD_MODE=names records only lookups and connects by name: no file, process or bare-IP records', async () => {
    const run = await runNode(sb, [fixture('net-ops.js'), sb.work], { env: { GUARDED_INSTALL_PRELOAD_MODE: 'names' } });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const ops = new Set(records().map((r) => r.op));
    ops.delete('start'); // each record file opens with the process's own start
    expect([...ops].sort()).toEqual(['connect', 'dns']);
    expect(records().filter((r) => r.op === 'connect').every((r) => typeof r.host === 'string')).toBe(true);
    const { reader } = readEvents(sb);
    expect(reader.hostnameFor('127.0.0.1')).toBe('localhost');
  });

  it('leaves fs and child_process unwrapped in names mode (strace sees them; a wrapper costs every call), and wraps them otherwise', async () => {
    const names = await runNode(sb, [fixture('wrapped.js')], { env: { GUARDED_INSTALL_PRELOAD_MODE: 'names' } });
    expect(names).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(names.stdout)).toEqual({ writeFileSync: false, unlink: false, promisesOpen: false, execSync: false, spawn: false, lookup: true });
    const full = await runNode(sb, [fixture('wrapped.js')]);
    expect(full).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(full.stdout)).toEqual({ writeFileSync: true, unlink: true, promisesOpen: true, execSync: true, spawn: true, lookup: true });
  });
});

describe('network', () => {
  it('reports tcp (net, http, fetch, tls), unix and udp connects and dns lookups, with the names', async () => {
    const run = await runNode(sb, [fixture('net-ops.js'), sb.work]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const [port, udpPort] = run.stdout.trim().split(' ').map(Number);
    const { events, reader } = readEvents(sb);
    const connects = ofKind(events, 'network-connect');
    const tcp = connects.filter((e) => e.network.transport === 'tcp');
    // net by ip, net by name, http by name, fetch, tls: by ip too, the
    // address is named after what the process resolved
    expect(tcp.map((e) => [e.destination.ip, e.destination.port, e.destination.domain])).toEqual(Array(5).fill(['127.0.0.1', port, 'localhost']));
    expect(records().flatMap((r) => (r.op === 'connect' && r.transport === 'tcp' ? [r.host] : []))).toEqual([undefined, 'localhost', 'localhost', undefined, undefined]);
    for (const e of tcp) expect(e).toMatchObject({ network: { type: 'ipv4' }, syscall: { name: 'connect', result: 'EINPROGRESS' }, event: { outcome: 'unknown' } });
    expect(connects.filter((e) => e.network.transport === 'unix').map((e) => e.destination.address)).toEqual([join(sb.work, 'srv.sock')]);
    // udp: each destination once; a send to a name gets the address dgram resolved
    expect(connects.filter((e) => e.network.transport === 'udp').map((e) => [e.destination.ip, e.destination.port, e.destination.domain, e.syscall.name])).toEqual([
      ['127.0.0.1', udpPort, 'localhost', 'sendto'],
      ['127.0.0.1', udpPort, 'localhost', 'sendto'],
    ]);
    const dns = ofKind(events, 'dns-query');
    expect(dns.filter((e) => e.dns.question.name === 'localhost').length).toBeGreaterThanOrEqual(4);
    const c2 = dns.find((e) => e.dns.question.name === 'c2.example.test');
    expect(c2).toMatchObject({ destination: { ip: '127.0.0.1', port: udpPort }, event: { outcome: 'failure' } });
    // a query sent by hand to port 53 is a dns query to that resolver, as strace decodes it
    expect(dns.find((e) => e.dns.question.name === 'exfil.localhost')).toMatchObject({ destination: { ip: '127.0.0.1', port: 53 }, process: { name: 'node' } });
    expect(connects.some((e) => e.destination.port === 53)).toBe(false);
    expect(reader.hostnameFor('127.0.0.1')).toBe('localhost');
    expect(reader.hostnameFor('10.9.9.9')).toBeUndefined();
  });
});

describe('transparency', () => {
  it('does not change a script\'s output, exit code or the functions it sees', async () => {
    const without = await runNode(sb, [fixture('output.js'), sb.work], { preload: false });
    const withPreload = await runNode(sb, [fixture('output.js'), sb.work]);
    expect(without.code).toBe(7);
    expect(withPreload).toEqual(without);
    expect(withPreload.stdout).toContain('function writeFileSync 3');
    expect(readdirSync(sb.runDir)).toHaveLength(1);
  });

  it('odd and invalid arguments: same results and errors, only valid records', async () => {
    const without = await runNode(sb, [fixture('odd-calls.js'), sb.work], { preload: false });
    sb.cleanup();
    sb = sandbox();
    const withPreload = await runNode(sb, [fixture('odd-calls.js'), sb.work]);
    expect(withPreload).toEqual(without);
    expect(without.stdout).toContain('bad flags: ERR_INVALID_ARG_VALUE');
    const all = records(); // each line parses
    expect(all.find((r) => r.op === 'write' && r.path === join(sb.work, 'url.txt'))).toBeDefined();
    expect(all.find((r) => r.op === 'write' && r.path === join(sb.work, 'buf.txt'))).toBeDefined();
    expect(all.filter((r) => r.op === 'chmod').map((r) => r.mode)).toEqual([0o755, 0o644]);
  });

  it('a script that throws still has its records, and its exit', async () => {
    const run = await runNode(sb, ['throws.js', sb.work], { cwd: FIXTURES });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Error: boom');
    const { events } = readEvents(sb);
    // argv as exec'd (/proc/self/cmdline), not process.argv's resolved path
    expect(ofKind(events, 'process-start').map((e) => e.process.args)).toEqual([[process.execPath, 'throws.js', sb.work]]);
    expect(paths(ofKind(events, 'file-write'))).toEqual([join(sb.work, 'before-throw.txt')]);
    expect(ofKind(events, 'process-end').map((e) => e.process.exit_code)).toEqual([1]);
  });

  it('a record survives SIGKILL right after the call', async () => {
    writeFileSync(join(sb.work, 'victim.js'), 'x');
    const code = `require('fs').unlinkSync(${JSON.stringify(join(sb.work, 'victim.js'))}); process.kill(process.pid, 'SIGKILL')`;
    const run = await runNode(sb, ['-e', code]);
    expect(run.code).toBeNull();
    const deletes = ofKind(readEvents(sb).events, 'file-delete');
    expect(deletes.map((e) => e.file.path)).toEqual([join(sb.work, 'victim.js')]);
  });

  it('writes nothing when the run dir is missing, not a folder, or the script id is unusable', async () => {
    const cases: Array<Record<string, string>> = [
      { GUARDED_INSTALL_RUN_DIR: join(sb.root, 'nope') },
      { GUARDED_INSTALL_RUN_DIR: join(sb.work, 'a-file') },
      { GUARDED_INSTALL_RUN_DIR: '' },
      { GUARDED_INSTALL_SCRIPT_ID: '../escape' },
      { GUARDED_INSTALL_SCRIPT_ID: '' },
    ];
    writeFileSync(join(sb.work, 'a-file'), '');
    const reference = await runNode(sb, [fixture('output.js'), sb.work], { preload: false });
    for (const env of cases) {
      const run = await runNode(sb, [fixture('output.js'), sb.work], { env });
      expect(run, JSON.stringify(env)).toEqual(reference);
    }
    expect(readdirSync(sb.runDir)).toEqual([]);
    expect(readdirSync(sb.root).sort()).toEqual(['home', 'run', 'tmp', 'work']);
    expect(readdirSync(sb.work).sort()).toEqual(['a-file']);
  });

  it('a process that does nothing reportable leaves no file', async () => {
    // loading code is not a reportable read
    expect(await runNode(sb, ['-e', `require("fs").readFileSync(${JSON.stringify(fixture('output.js'))})`])).toMatchObject({ code: 0 });
    expect(await runNode(sb, ['-e', '0'])).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(readdirSync(sb.runDir)).toEqual([]);
  });

  it('is loaded once even when required twice', async () => {
    const run = await runNode(sb, ['--require', PRELOAD, '-e', `require('fs').writeFileSync('twice.txt', '')`]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(records().filter((r) => r.op === 'write')).toHaveLength(1);
  });
});
