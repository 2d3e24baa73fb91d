// What hostile scripts leave in a trace, line by line: signals aimed at the
// tracer, npm or us; ptrace; TracerPid checks; writes through hard links;
// O_TMPFILE files linked into place; renameat2 swaps; the cut last line of a
// tracer that was killed mid-call.
import { describe, expect, it } from 'vitest';
import type { GuardedEvent, TracerNoticeEvent } from '../../../src/events/types.js';
import { StraceAssembler, type SupervisionLookup } from '../../../src/tracers/strace/assembler.js';
import { decodeSignalTarget, procStatusPid } from '../../../src/tracers/strace/decode.js';
import { parseCutCall, splitDecoration } from '../../../src/tracers/strace/line.js';
import { fakeScript, ofKind } from './helpers.js';

const TRACER = 900;
const NPM = 800;
const GI = 700;
const lookup: SupervisionLookup = {
  runDir: '/tmp/guarded-install-X',
  roleOf: (pid) => ({ [TRACER]: 'tracer', [NPM]: 'npm', [GI]: 'guarded-install' })[pid],
  groupRoleOf: (pgid) => (pgid === 'script' || pgid === GI ? 'process-group' : undefined),
};

function run(lines: string[], path = '/w/node_modules/evil'): { events: GuardedEvent[]; asm: StraceAssembler } {
  const events: GuardedEvent[] = [];
  const asm = new StraceAssembler(fakeScript(path), (e) => events.push(e), lookup);
  for (const line of lines) asm.pushLine(line);
  return { events, asm };
}
const notices = (events: GuardedEvent[]): TracerNoticeEvent[] => ofKind(events, 'tracer-notice');
const T = '1700000000.000001';
const ROOT = `100 ${T} execve("/bin/sh", ["sh", "-c", "x"], 0x1 /* 1 vars */) = 0`;

describe('signals aimed at the supervision', () => {
  it('names the target of kill, tkill, tgkill and pidfd_open', () => {
    expect(decodeSignalTarget('kill', ['900', 'SIGKILL'])).toEqual({ target: 900, signal: 'SIGKILL' });
    expect(decodeSignalTarget('tkill', ['900', 'SIGSTOP'])).toEqual({ target: 900, signal: 'SIGSTOP' });
    expect(decodeSignalTarget('tgkill', ['900', '901', 'SIGTERM'])).toEqual({ target: 900, signal: 'SIGTERM' });
    expect(decodeSignalTarget('kill', ['-800', 'SIGINT'])).toEqual({ target: -800, signal: 'SIGINT' });
    expect(decodeSignalTarget('pidfd_open', ['700', '0'])).toEqual({ target: 700, signal: '(pidfd)' });
    expect(decodeSignalTarget('kill', ['NULL', 'SIGINT'])).toBeUndefined();
  });

  it('reports a signal to the tracer, npm, guarded-install, their group, or everyone; not to its own processes', () => {
    const { events } = run([
      ROOT,
      `100 ${T} clone(child_stack=NULL, flags=SIGCHLD) = 101`,
      `100 ${T} kill(101, SIGTERM) = 0`,
      `100 ${T} kill(${TRACER}, SIGKILL) = -1 EPERM (Operation not permitted)`,
      `100 ${T} tgkill(${NPM}, ${NPM}, SIGTERM) = 0`,
      `100 ${T} kill(${GI}, SIGINT) = 0`,
      `100 ${T} kill(0, SIGHUP) = 0`,
      `100 ${T} kill(-${GI}, SIGTERM) = 0`,
      `100 ${T} kill(-1, SIGKILL) = 0`,
      `100 ${T} kill(${NPM}, 0) = 0`,
      `100 ${T} kill(4242, SIGTERM) = 0`,
    ]);
    expect(notices(events).map((n) => [n.run?.notice, n.run?.target_role, n.run?.signal, n.run?.target_pid])).toEqual([
      ['signal-to-supervisor', 'tracer', 'SIGKILL', TRACER],
      ['signal-to-supervisor', 'npm', 'SIGTERM', NPM],
      ['signal-to-supervisor', 'guarded-install', 'SIGINT', GI],
      ['signal-to-supervisor', 'process-group', 'SIGHUP', 0],
      ['signal-to-supervisor', 'process-group', 'SIGTERM', -GI],
      ['signal-to-supervisor', 'every-process', 'SIGKILL', -1],
    ]);
    expect(notices(events)[0]).toMatchObject({ package: { name: 'evil-pkg' }, process: { pid: 100 }, run: { call: `kill(${TRACER}, SIGKILL) = -1 EPERM` } });
  });

  it('a detached process signalling its own group (kill 0) is not aiming at npm', () => {
    const { events } = run([ROOT, `100 ${T} setsid() = 100`, `100 ${T} kill(0, SIGTERM) = 0`]);
    expect(notices(events)).toEqual([]);
  });

  it('a tracer killed inside kill(): the cut last line is the blow, even before its pid was known', () => {
    const events: GuardedEvent[] = [];
    const asm = new StraceAssembler(fakeScript('/w'), (e) => events.push(e)); // no lookup: pid unknown
    asm.pushLine(ROOT);
    asm.tracerLost(`100 ${T} kill(555, SIGKILL`, 1, { pids: [100], ended: [100] });
    expect(notices(events).map((n) => [n.run?.notice, n.run?.target_role, n.run?.target_pid])).toEqual([
      ['signal-to-supervisor', 'tracer', 555],
      ['tracer-lost', undefined, undefined],
    ]);
    expect(notices(events)[1]?.run).toMatchObject({ call: 'kill(555, SIGKILL', pids: [100], ended: [100] });
    expect(asm.liveProcesses()).toEqual([]); // ended: forgotten
  });

  it('parses a cut line, with or without the unfinished marker', () => {
    expect(parseCutCall(`100 ${T} kill(555, SIGKILL`)).toMatchObject({ pid: 100, name: 'kill', args: ['555', 'SIGKILL'] });
    expect(parseCutCall(`100 ${T} tgkill(1, 2, SIGSTOP <unfinished ...>`)).toMatchObject({ name: 'tgkill', args: ['1', '2', 'SIGSTOP'] });
    expect(parseCutCall('garbage')).toBeUndefined();
  });
});

describe('checks for a tracer', () => {
  it('reports PTRACE_TRACEME and attaching to another process; not other ptrace requests', () => {
    const { events } = run([
      ROOT,
      `100 ${T} ptrace(PTRACE_TRACEME) = -1 EPERM (Operation not permitted)`,
      `100 ${T} ptrace(PTRACE_ATTACH, 4242) = 0`,
      `100 ${T} ptrace(PTRACE_PEEKDATA, 4242, 0x1000, [0]) = 0`,
    ]);
    expect(notices(events).map((n) => [n.run?.notice, n.run?.call, n.run?.target_pid])).toEqual([
      ['ptrace', 'ptrace(PTRACE_TRACEME) = -1 EPERM', undefined],
      ['ptrace', 'ptrace(PTRACE_ATTACH, 4242) = 0', 4242],
    ]);
  });

  it('reports reading the /proc status of its own processes once per pair; not of other pids', () => {
    const { events } = run([
      ROOT,
      `100 ${T} clone(child_stack=NULL, flags=SIGCHLD) = 101`,
      `101 ${T} execve("/usr/bin/node", ["node", "x.js"], 0x1 /* 1 vars */) = 0`,
      `101 ${T} openat(AT_FDCWD</w>, "/proc/self/status", O_RDONLY|O_CLOEXEC) = 3</proc/101/status>`,
      `101 ${T} openat(AT_FDCWD</w>, "/proc/self/status", O_RDONLY|O_CLOEXEC) = 3</proc/101/status>`,
      `101 ${T} openat(AT_FDCWD</w>, "/proc/100/status", O_RDONLY) = 3</proc/100/status>`,
      `101 ${T} openat(AT_FDCWD</w>, "/proc/1/status", O_RDONLY) = 3</proc/1/status>`,
      `101 ${T} openat(AT_FDCWD</w>, "/proc/self/stat", O_RDONLY) = 3</proc/101/stat>`,
    ]);
    expect(notices(events).map((n) => [n.process.pid, n.process.name, n.run?.target_pid, n.run?.path])).toEqual([
      [101, 'node', 101, '/proc/101/status'],
      [101, 'node', 100, '/proc/100/status'],
    ]);
    expect(procStatusPid('/proc/5/task/6/status')).toBe(6);
    expect(procStatusPid('/proc/5/status.bak')).toBeUndefined();
  });
});

describe('files reached sideways', () => {
  it('a write through a hard link the script made lands in the linked file; a read of a linked credential is one', () => {
    const { events } = run([
      ROOT,
      `100 ${T} link("/home/u/.bashrc", "innocent.txt") = 0`,
      `100 ${T} openat(AT_FDCWD</w/node_modules/evil>, "innocent.txt", O_WRONLY|O_CREAT|O_APPEND, 0666) = 3</w/node_modules/evil/innocent.txt>`,
      `100 ${T} linkat(AT_FDCWD</w/node_modules/evil>, "/home/u/.npmrc", AT_FDCWD</w/node_modules/evil>, "n.txt", 0) = 0`,
      `100 ${T} openat(AT_FDCWD</w/node_modules/evil>, "n.txt", O_RDONLY) = 3</w/node_modules/evil/n.txt>`,
      `100 ${T} rename("innocent.txt", "moved.txt") = 0`,
      `100 ${T} truncate("moved.txt", 0) = 0`,
      `100 ${T} unlink("moved.txt") = 0`,
      `100 ${T} openat(AT_FDCWD</w/node_modules/evil>, "moved.txt", O_WRONLY|O_CREAT, 0666) = 3</w/node_modules/evil/moved.txt>`,
    ]);
    expect(ofKind(events, 'file-write').map((e) => e.file.path)).toEqual(['/home/u/.bashrc', '/home/u/.bashrc', '/w/node_modules/evil/moved.txt']);
    expect(ofKind(events, 'sensitive-read').map((e) => e.file.path)).toEqual(['/home/u/.npmrc']);
  });

  it('a write through a symlink is already resolved by strace (-yy)', () => {
    const { events } = run([
      ROOT,
      `100 ${T} symlink("/home/u/.profile", "sym.txt") = 0`,
      `100 ${T} openat(AT_FDCWD</w>, "sym.txt", O_WRONLY|O_APPEND, 0666) = 3</home/u/.profile>`,
    ]);
    expect(ofKind(events, 'file-link').map((e) => [e.file.path, e.file.target_path])).toEqual([['/w/node_modules/evil/sym.txt', '/home/u/.profile']]);
    expect(ofKind(events, 'file-write').map((e) => e.file.path)).toEqual(['/home/u/.profile']);
  });

  it('O_TMPFILE then linkat, by /proc/self/fd and by AT_EMPTY_PATH: the link names the unnamed file', () => {
    expect(splitDecoration('3</h/.config/autostart/#2311160>(deleted)')).toEqual({ value: '3', decoration: '/h/.config/autostart/#2311160' });
    const { events } = run([
      ROOT,
      `100 ${T} openat(AT_FDCWD</w>, "/h/.config/autostart", O_WRONLY|O_CLOEXEC|O_TMPFILE, 0600) = 3</h/.config/autostart/#2311160>(deleted)`,
      `100 ${T} linkat(AT_FDCWD</w>, "/proc/self/fd/3", AT_FDCWD</w>, "/h/.config/autostart/x.desktop", AT_SYMLINK_FOLLOW) = 0`,
      `100 ${T} openat(AT_FDCWD</w>, "/tmp", O_WRONLY|O_TMPFILE, 0700) = 4</tmp/#77>(deleted)`,
      `100 ${T} linkat(4</tmp/#77>(deleted), "", AT_FDCWD</w>, "/tmp/payload", AT_EMPTY_PATH) = 0`,
    ]);
    expect(ofKind(events, 'file-write').map((e) => [e.file.path, e.syscall.flags.includes('O_TMPFILE')])).toEqual([
      ['/h/.config/autostart/#2311160', true],
      ['/tmp/#77', true],
    ]);
    expect(ofKind(events, 'file-link').map((e) => [e.file.path, e.file.target_path])).toEqual([
      ['/h/.config/autostart/x.desktop', '/h/.config/autostart/#2311160'],
      ['/tmp/payload', '/tmp/#77'],
    ]);
  });

  it('renameat2 RENAME_EXCHANGE swaps in a decoy: a rename onto package.json', () => {
    const { events } = run([ROOT, `100 ${T} renameat2(AT_FDCWD</w/p>, "decoy.json", AT_FDCWD</w/p>, "package.json", RENAME_EXCHANGE) = 0`], '/w/p');
    expect(ofKind(events, 'file-rename').map((e) => [e.syscall.name, e.syscall.source_path, e.file.path])).toEqual([['renameat2', '/w/p/decoy.json', '/w/p/package.json']]);
  });
});

describe("guarded-install's run directory", () => {
  it('a script that writes into its trace, deletes or renames a record is tampering; the preload appending its records is not', () => {
    const { events } = run([
      ROOT,
      `100 ${T} openat(AT_FDCWD</w>, "/tmp/guarded-install-X/100.trace", O_WRONLY|O_APPEND) = 3</tmp/guarded-install-X/100.trace>`,
      `100 ${T} openat(AT_FDCWD</w>, "/tmp/guarded-install-X/100.trace", O_WRONLY|O_APPEND) = 3</tmp/guarded-install-X/100.trace>`,
      `100 ${T} unlink("/tmp/guarded-install-X/77.meta") = 0`,
      `100 ${T} rename("/tmp/guarded-install-X/78.trace", "/w/x") = 0`,
      `100 ${T} openat(AT_FDCWD</w>, "/tmp/guarded-install-X/100-1.preload", O_WRONLY|O_CREAT|O_APPEND, 0600) = 4</tmp/guarded-install-X/100-1.preload>`,
      `100 ${T} openat(AT_FDCWD</w>, "/tmp/guarded-install-Xother/a", O_WRONLY|O_CREAT, 0600) = 4</tmp/guarded-install-Xother/a>`,
      `100 ${T} openat(AT_FDCWD</w>, "/tmp/guarded-install-X/100.trace", O_RDONLY) = 4</tmp/guarded-install-X/100.trace>`,
    ]);
    expect(notices(events).map((n) => [n.run?.notice, n.run?.path])).toEqual([
      ['run-dir-tamper', '/tmp/guarded-install-X/100.trace'],
      ['run-dir-tamper', '/tmp/guarded-install-X/77.meta'],
      ['run-dir-tamper', '/tmp/guarded-install-X/78.trace'],
    ]);
  });
});

describe('names that lie', () => {
  it('exec -a and prctl(PR_SET_NAME) do not hide the executable: it comes from the execve path', () => {
    const { events } = run([
      ROOT,
      `100 ${T} clone(child_stack=NULL, flags=SIGCHLD) = 101`,
      `101 ${T} execve("/usr/bin/curl", ["[kworker/0:1]", "-s", "http://203.0.113.45:4444/"], 0x1 /* 1 vars */) = 0`,
    ]);
    expect(ofKind(events, 'process-start').filter((e) => e.process.pid === 101).map((e) => [e.process.executable, e.process.name, e.process.args[0]])).toEqual([['/usr/bin/curl', 'curl', '[kworker/0:1]']]);
  });
});
