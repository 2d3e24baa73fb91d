// Every detection rule, with at least one event sequence that must fire it and
// one that must not. Host facts: HOME /home/u, temp /tmp, resolver 10.0.0.53,
// project /proj; the script under test is pkg at /proj/node_modules/pkg running
// `node setup.js` (root pid 100 exec'd node, ancestry []).
import { describe, expect, it } from 'vitest';
import { RULES, RULES_BY_KIND } from '../../src/rules/catalog.js';
import { classifyAddress, namedFiles, packageDirOf, RuleContext } from '../../src/rules/context.js';
import { OWN_SHIM } from '../../src/rules/lists.js';
import { finalize, HOST, NODE, PKG, SH, T0, World } from './helpers.js';

type Case = [name: string, run: (w: World) => string[]];

const P = (rel: string): string => `${PKG}/${rel}`;

// Each case returns the rule ids that fired on its last event.
const POSITIVE: Record<string, Case[]> = {
  'GI-PROC-001': [
    ['a shell whose parent is node (child of the script root)', (w) => w.feed(w.s.exec(10, 101, SH, [SH, '-c', 'id'], 100))],
    ['bash spawned by a nested node process', (w) => {
      w.feed(w.s.exec(10, 101, NODE, ['node', 'child.js'], 100));
      return w.feed(w.s.exec(20, 102, '/usr/bin/bash', ['bash', '-c', 'id'], 101));
    }],
  ],
  'GI-PROC-002': [
    ['curl', (w) => w.feed(w.s.exec(10, 101, '/usr/bin/curl', ['curl', '-fsSL', 'http://203.0.113.45/x'], 100))],
    ['wget under a shell', (w) => {
      w.feed(w.s.exec(10, 101, SH, [SH, '-c', 'wget x'], 100));
      return w.feed(w.s.exec(20, 102, '/usr/bin/wget', ['wget', 'x'], 101));
    }],
  ],
  'GI-PROC-003': [['python3 spawned by node', (w) => w.feed(w.s.exec(10, 101, '/usr/bin/python3', ['python3', '-c', 'print(1)'], 100))]],
  'GI-PROC-004': [
    ['exec of a file the script created in /tmp', (w) => {
      w.feed(w.s.write(10, 100, '/tmp/payload'));
      return w.feed(w.s.exec(20, 101, '/tmp/payload', ['/tmp/payload'], 100));
    }],
    ['exec of a file the script created then renamed inside its folder', (w) => {
      w.feed(w.s.write(10, 100, P('.x.tmp')));
      w.feed(w.s.rename(11, 100, P('.x.tmp'), P('bin/x')));
      return w.feed(w.s.exec(20, 101, P('bin/x'), [P('bin/x')], 100));
    }],
  ],
  'GI-PROC-005': [
    ['a program from /tmp not written by the script', (w) => w.feed(w.s.exec(10, 101, '/tmp/x/run', ['/tmp/x/run'], 100))],
    ['a program from a hidden home directory, written there by the script', (w) => {
      w.feed(w.s.write(9, 100, '/home/u/.local/share/.x/agent'));
      return w.feed(w.s.exec(10, 101, '/home/u/.local/share/.x/agent', ['agent'], 100));
    }],
  ],
  'GI-PROC-006': [
    ['npm publish', (w) => w.feed(w.s.exec(10, 101, '/usr/bin/npm', ['npm', 'publish', '--access', 'public'], 100))],
    ['node npm-cli.js whoami', (w) => w.feed(w.s.exec(10, 101, NODE, [NODE, '/usr/lib/node_modules/npm/bin/npm-cli.js', '--silent', 'whoami'], 100))],
  ],
  'GI-PROC-007': [['setsid', (w) => w.feed(w.s.detach(10, 100))]],
  'GI-NET-001': [
    ['tcp to 203.0.113.45 (TEST-NET-3 counts as public)', (w) => w.feed(w.s.connect(10, 100, '203.0.113.45', 8443))],
    ['IPv6 public', (w) => w.feed(w.s.connect(10, 100, '2606:4700:4700::1111', 443))],
    ['IPv4-mapped public', (w) => w.feed(w.s.connect(10, 100, '::ffff:203.0.113.45', 443))],
  ],
  'GI-NET-002': [
    ['169.254.169.254', (w) => w.feed(w.s.connect(10, 100, '169.254.169.254', 80))],
    ['ECS task metadata 169.254.170.2', (w) => w.feed(w.s.connect(10, 100, '169.254.170.2', 80))],
    ['IPv6 IMDS in long form', (w) => w.feed(w.s.connect(10, 100, 'fd00:ec2:0:0:0:0:0:254', 80))],
  ],
  'GI-NET-003': [
    ['a database on the private network', (w) => w.feed(w.s.connect(10, 100, '192.168.1.10', 5432))],
    ['the system resolver, but not on port 53', (w) => w.feed(w.s.connect(10, 100, '10.0.0.53', 80))],
  ],
  'GI-NET-004': [
    ['a public resolver on :53', (w) => w.feed(w.s.connect(10, 100, '8.8.8.8', 53, { transport: 'udp' }))],
    ['another private resolver on :53', (w) => w.feed(w.s.connect(10, 100, '10.0.0.99', 53, { transport: 'udp' }))],
    ['a dns query sent to another resolver', (w) => w.feed(w.s.dns(10, 100, 'c2.example', '1.1.1.1'))],
  ],
  'GI-NET-005': [
    ['bash /dev/tcp to a public ip', (w) => {
      w.feed(w.s.exec(10, 101, '/usr/bin/bash', ['bash', '-c', 'exec 3<>/dev/tcp/203.0.113.45/9001'], 100));
      return w.feed(w.s.connect(20, 101, '203.0.113.45', 9001));
    }],
  ],
  'GI-CHURN-001': [
    ['deleting the named install script (node setup.js -> setup.js)', (w) => w.feed(w.s.del(10, 100, P('setup.js')))],
    ['renaming setup.js away', (w) => w.feed(w.s.rename(10, 100, P('setup.js'), P('.setup.js.bak')))],
    ['deleting its package.json', (w) => w.feed(w.s.del(10, 100, P('package.json')))],
  ],
  'GI-CHURN-002': [
    ['rename of package.md onto package.json', (w) => w.feed(w.s.rename(10, 100, P('package.md'), P('package.json')))],
    ['rewriting package.json in place', (w) => w.feed(w.s.write(10, 100, P('package.json'), false))],
    ['rewriting the install script', (w) => w.feed(w.s.write(10, 100, P('setup.js'), false))],
  ],
  'GI-CHURN-003': [
    ['deleting a shipped file not named by the command', (w) => w.feed(w.s.del(10, 100, P('lib/index.js')))],
    ['renaming package.md (shipped) away', (w) => w.feed(w.s.rename(10, 100, P('package.md'), P('package.json')))],
  ],
  'GI-CHURN-004': [
    ['a file another script wrote, deleted 60 s later', (w) => {
      const other = w.other('other');
      w.feed(other.write(1_000, 500, '/proj/node_modules/other/lib/gen.js'));
      return w.feed(w.s.del(61_000, 100, '/proj/node_modules/other/lib/gen.js'));
    }],
  ],
  'GI-DROP-001': [
    ['a new file in /tmp', (w) => w.feed(w.s.write(10, 100, '/tmp/.update-service'))],
    ['a hard link into /tmp', (w) => w.feed(w.s.link(10, 100, P('index.js'), '/tmp/x'))],
    ['a rename into /tmp', (w) => w.feed(w.s.rename(10, 100, P('x.bin'), '/tmp/x.bin'))],
  ],
  'GI-DROP-002': [['a new file under ~/.cache', (w) => w.feed(w.s.write(10, 100, '/home/u/.cache/x/agent'))]],
  'GI-PERSIST-001': [
    ['~/.bashrc', (w) => w.feed(w.s.write(10, 100, '/home/u/.bashrc', false))],
    ['.github/workflows/x.yml in the project', (w) => w.feed(w.s.write(10, 100, '/proj/.github/workflows/x.yml'))],
    ['a cron file', (w) => w.feed(w.s.write(10, 100, '/etc/cron.d/update'))],
    ['a systemd user unit via rename', (w) => w.feed(w.s.rename(10, 100, '/tmp/u.service', '/home/u/.config/systemd/user/u.service'))],
    ['~/.ssh/authorized_keys', (w) => w.feed(w.s.write(10, 100, '/home/u/.ssh/authorized_keys', false))],
  ],
  'GI-PERSIST-002': [['a git hook', (w) => w.feed(w.s.write(10, 100, '/proj/.git/hooks/pre-commit'))]],
  'GI-CRED-001': [
    ['~/.npmrc', (w) => w.feed(w.s.read(10, 100, '/home/u/.npmrc'))],
    ['a failed attempt still counts', (w) => w.feed(w.s.read(10, 100, '/home/u/.aws/credentials', false))],
  ],
  'GI-CRED-002': [
    ['3 distinct credential files', (w) => {
      w.feed(w.s.read(10, 100, '/home/u/.npmrc'));
      w.feed(w.s.read(20, 100, '/home/u/.ssh/id_ed25519'));
      return w.feed(w.s.read(30, 100, '/home/u/.aws/credentials'));
    }],
  ],
  'GI-XPKG-001': [
    ['a write into another package', (w) => w.feed(w.s.write(10, 100, '/proj/node_modules/other/index.js', false))],
    ['a write into another scoped package', (w) => w.feed(w.s.write(10, 100, '/proj/node_modules/@scope/lib/dist/a.js'))],
    ['deleting a file of another package', (w) => w.feed(w.s.del(10, 100, '/proj/node_modules/other/index.js'))],
    ['renaming a file of another package away', (w) => w.feed(w.s.rename(10, 100, '/proj/node_modules/other/index.js', '/tmp/o.js'))],
  ],
  'GI-LIVE-001': [
    ['outlived its script', (w) => w.feed(w.s.outlived(10, 100))],
    ['outlived the install', (w) => w.feed(w.s.outlived(10, 100, 'process-outlived-install'))],
  ],
  'GI-VIS-001': [['the tracer ended while the script ran', (w) => w.feed(w.s.notice(10, 100, { notice: 'tracer-lost', tracer_pid: 77, call: 'kill(77, SIGKILL', pids: [100], ended: [100] }))]],
  'GI-VIS-002': [['the tracer was stopped', (w) => w.feed(w.s.notice(10, 100, { notice: 'tracer-stopped', tracer_pid: 77 }))]],
  'GI-EVADE-001': [
    ['SIGKILL to the tracer', (w) => w.feed(w.s.notice(10, 100, { notice: 'signal-to-supervisor', target_pid: 77, target_role: 'tracer', signal: 'SIGKILL' }))],
    ['SIGINT to the whole process group of npm and guarded-install', (w) => w.feed(w.s.notice(10, 100, { notice: 'signal-to-supervisor', target_pid: 0, target_role: 'process-group', signal: 'SIGINT' }))],
  ],
  'GI-EVADE-004': [['a write into its own trace', (w) => w.feed(w.s.notice(10, 100, { notice: 'run-dir-tamper', path: '/tmp/guarded-install-X/100.trace', call: 'openat' }))]],
  'GI-EVADE-002': [['PTRACE_TRACEME', (w) => w.feed(w.s.notice(10, 100, { notice: 'ptrace', call: 'ptrace(PTRACE_TRACEME) = -1 EPERM' }))]],
  'GI-EVADE-003': [['node reads its own /proc status', (w) => w.feed(w.s.notice(10, 100, { notice: 'trace-check', target_pid: 100, path: '/proc/100/status' }))]],
};

const NEGATIVE: Record<string, Case[]> = {
  'GI-PROC-001': [
    ['the script root shell spawned by npm (ancestry [])', () => {
      // A fresh run: npm (node, pid 50) is known to the context, the root shell's
      // parent is npm, but a script's own root shell is never a finding.
      const w = new World();
      const root = w.s.emit({ kind: 'process-start', ts: Date.now(), process: { pid: 100, parent: { pid: 50 }, executable: SH, name: 'sh', args: [SH, '-c', 'node setup.js'] } }, 100, []);
      const npm = w.s.emit({ kind: 'process-start', ts: Date.now(), process: { pid: 50, executable: NODE, name: 'node', args: ['npm', 'install'] } }, 50, []);
      w.feed(npm);
      return w.feed(root);
    }],
    ['a shell spawned by make', (w) => {
      w.feed(w.s.exec(10, 101, '/usr/bin/make', ['make'], 100));
      return w.feed(w.s.exec(20, 102, SH, [SH, '-c', 'cc -c a.c'], 101));
    }],
    ['node spawned by node', (w) => w.feed(w.s.exec(10, 101, NODE, ['node', 'x.js'], 100))],
  ],
  'GI-PROC-002': [['cat', (w) => w.feed(w.s.exec(10, 101, '/usr/bin/cat', ['cat', 'x'], 100))]],
  'GI-PROC-003': [
    ['python3 spawned by make', (w) => {
      w.feed(w.s.exec(10, 101, '/usr/bin/make', ['make'], 100));
      return w.feed(w.s.exec(20, 102, '/usr/bin/python3', ['python3', 'gyp'], 101));
    }],
  ],
  'GI-PROC-004': [
    ['exec of a shipped file', (w) => w.feed(w.s.exec(10, 101, P('bin/tool'), [P('bin/tool')], 100))],
    ['exec of a file the script only rewrote (no O_CREAT)', (w) => {
      w.feed(w.s.write(10, 100, P('bin/tool'), false));
      return w.feed(w.s.exec(20, 101, P('bin/tool'), [P('bin/tool')], 100));
    }],
    ['exec of a file created then deleted', (w) => {
      w.feed(w.s.write(10, 100, '/tmp/p'));
      w.feed(w.s.del(11, 100, '/tmp/p'));
      return w.feed(w.s.exec(20, 101, '/usr/bin/true', ['true'], 100));
    }],
  ],
  'GI-PROC-005': [
    ['a program from /usr/bin', (w) => w.feed(w.s.exec(10, 101, '/usr/bin/cc', ['cc'], 100))],
    ['a program from a temp dir that is inside the project', () => {
      const w = new World('node setup.js', { ...HOST, tempDirs: ['/tmp'], projectRoot: '/tmp/proj' });
      return w.feed(w.s.exec(10, 101, '/tmp/proj/node_modules/.bin/tsc', ['tsc'], 100));
    }],
    ['a program from a visible home directory', (w) => w.feed(w.s.exec(10, 101, '/home/u/bin/tool', ['tool'], 100))],
    ['a toolchain that was already in a hidden home directory (nvm)', (w) => w.feed(w.s.exec(10, 101, '/home/u/.nvm/versions/node/v20/bin/node', ['node', 'x.js'], 100))],
  ],
  'GI-PROC-006': [
    ['npm run build', (w) => w.feed(w.s.exec(10, 101, '/usr/bin/npm', ['npm', 'run', 'build'], 100))],
    ['npm --version', (w) => w.feed(w.s.exec(10, 101, '/usr/bin/npm', ['npm', '--version'], 100))],
    ['a program merely named publish', (w) => w.feed(w.s.exec(10, 101, P('bin/publish'), ['publish'], 100))],
  ],
  'GI-PROC-007': [['a process start is not a detach', (w) => w.feed(w.s.exec(10, 101, '/usr/bin/true', ['true'], 100))]],
  'GI-NET-001': [
    ['the system resolver on :53', (w) => w.feed(w.s.connect(10, 100, '10.0.0.53', 53, { transport: 'udp' }))],
    ['loopback', (w) => w.feed(w.s.connect(10, 100, '127.0.0.1', 8080))],
    ['IPv6 loopback', (w) => w.feed(w.s.connect(10, 100, '::1', 8080))],
    ['a private address', (w) => w.feed(w.s.connect(10, 100, '10.1.2.3', 443))],
    ['a unix socket', (w) => w.feed(w.s.unixConnect(10, 100, '/run/docker.sock'))],
  ],
  'GI-NET-002': [
    ['a link-local address that is not IMDS', (w) => w.feed(w.s.connect(10, 100, '169.254.1.1', 80))],
    ['a public address', (w) => w.feed(w.s.connect(10, 100, '203.0.113.45', 80))],
  ],
  'GI-NET-003': [
    ['the system resolver on :53', (w) => w.feed(w.s.connect(10, 100, '10.0.0.53', 53, { transport: 'udp' }))],
    ['loopback', (w) => w.feed(w.s.connect(10, 100, '127.0.0.1', 5432))],
    ['IMDS is metadata, not private', (w) => w.feed(w.s.connect(10, 100, '169.254.169.254', 80))],
  ],
  'GI-NET-004': [
    ['the system resolver', (w) => w.feed(w.s.connect(10, 100, '10.0.0.53', 53, { transport: 'udp' }))],
    ['a dns query to the system resolver', (w) => w.feed(w.s.dns(10, 100, 'registry.npmjs.org', '10.0.0.53'))],
    ['the loopback stub resolver (systemd-resolved)', (w) => w.feed(w.s.connect(10, 100, '127.0.0.53', 53, { transport: 'udp' }))],
    ['a public address on another port', (w) => w.feed(w.s.connect(10, 100, '8.8.8.8', 443))],
  ],
  'GI-NET-005': [
    ['bash to loopback', (w) => {
      w.feed(w.s.exec(10, 101, '/usr/bin/bash', ['bash'], 100));
      return w.feed(w.s.connect(20, 101, '127.0.0.1', 9001));
    }],
    ['node itself to a public ip', (w) => w.feed(w.s.connect(10, 100, '203.0.113.45', 9001))],
  ],
  'GI-CHURN-001': [
    ['deleting the script\'s own build temp file (created by the script)', (w) => {
      w.feed(w.s.write(10, 100, P('build/.deps-1.d')));
      return w.feed(w.s.del(20, 100, P('build/.deps-1.d')));
    }],
    ['deleting a file the command names, that the script created', (w) => {
      w.feed(w.s.write(10, 100, P('setup.js')));
      return w.feed(w.s.del(20, 100, P('setup.js')));
    }],
    ['another package deleting its own install.js is not ours', (w) => w.feed(w.s.del(10, 100, '/proj/node_modules/other/install.js'))],
    ['removing a directory', (w) => w.feed(w.s.del(10, 100, P('setup.js'), 'dir'))],
  ],
  'GI-CHURN-002': [
    ['a write to another file of the package', (w) => w.feed(w.s.write(10, 100, P('lib/x.js')))],
    ['a write to another package\'s package.json', (w) => w.feed(w.s.write(10, 100, '/proj/node_modules/other/package.json', false))],
  ],
  'GI-CHURN-003': [
    ['deleting the script\'s own build temp file (created by the script)', (w) => {
      w.feed(w.s.write(10, 100, P('build/.deps-1.d')));
      return w.feed(w.s.del(20, 100, P('build/.deps-1.d')));
    }],
    ['deleting a file of a nested dependency', (w) => w.feed(w.s.del(10, 100, P('node_modules/dep/x.js')))],
    ['deleting the named install script is GI-CHURN-001, not 003', (w) => w.feed(w.s.del(10, 100, P('setup.js')))],
  ],
  'GI-CHURN-004': [
    ['the same, 61 s later', (w) => {
      const other = w.other('other');
      w.feed(other.write(1_000, 500, '/proj/node_modules/other/lib/gen.js'));
      return w.feed(w.s.del(62_000, 100, '/proj/node_modules/other/lib/gen.js'));
    }],
    ['the creator deleting its own file', (w) => {
      w.feed(w.s.write(10, 100, P('build/x.o')));
      return w.feed(w.s.del(20, 100, P('build/x.o')));
    }],
    ['a delete outside node_modules', (w) => {
      const other = w.other('other');
      w.feed(other.write(10, 500, '/tmp/x'));
      return w.feed(w.s.del(20, 100, '/tmp/x'));
    }],
    ['a delete of a file nobody wrote', (w) => w.feed(w.s.del(20, 100, '/proj/node_modules/other/lib/gen.js'))],
  ],
  'GI-DROP-001': [
    ['a rewrite (no O_CREAT) in /tmp', (w) => w.feed(w.s.write(10, 100, '/tmp/x', false))],
    ['a file in the package folder', (w) => w.feed(w.s.write(10, 100, P('build/x.o')))],
    ['/dev/null', (w) => w.feed(w.s.write(10, 100, '/dev/null'))],
    ['/tmp itself is not a prefix of /tmpfoo', (w) => w.feed(w.s.write(10, 100, '/tmpfoo/x'))],
  ],
  'GI-DROP-002': [
    ['~/.bashrc is persistence, not a drop', (w) => w.feed(w.s.write(10, 100, '/home/u/.bashrc'))],
    ['a visible file in HOME', (w) => w.feed(w.s.write(10, 100, '/home/u/notes.txt'))],
  ],
  'GI-PERSIST-001': [
    ['.git/hooks is GI-PERSIST-002 only', (w) => w.feed(w.s.write(10, 100, '/proj/.git/hooks/pre-commit'))],
    ['deleting ~/.bashrc', (w) => w.feed(w.s.del(10, 100, '/home/u/.bashrc'))],
    ['another user\'s .bashrc', (w) => w.feed(w.s.write(10, 100, '/home/v/.bashrc'))],
    ['a file named like a workflow outside .github', (w) => w.feed(w.s.write(10, 100, '/proj/workflows/x.yml'))],
  ],
  'GI-PERSIST-002': [
    ['a .githooks folder', (w) => w.feed(w.s.write(10, 100, '/proj/.githooks/pre-commit'))],
    ['.git/config', (w) => w.feed(w.s.write(10, 100, '/proj/.git/config', false))],
  ],
  'GI-CRED-001': [['writing ~/.npmrc is not a read', (w) => w.feed(w.s.write(10, 100, '/home/u/.npmrc', false))]],
  'GI-CRED-002': [
    ['the same file three times', (w) => {
      w.feed(w.s.read(10, 100, '/home/u/.npmrc'));
      w.feed(w.s.read(20, 100, '/home/u/.npmrc'));
      return w.feed(w.s.read(30, 100, '/home/u/.npmrc'));
    }],
    ['two files', (w) => {
      w.feed(w.s.read(10, 100, '/home/u/.npmrc'));
      return w.feed(w.s.read(20, 100, '/home/u/.ssh/id_rsa'));
    }],
    ['two files each by two packages', (w) => {
      const other = w.other('other');
      w.feed(other.read(5, 500, '/home/u/.aws/credentials'));
      w.feed(other.read(6, 500, '/home/u/.netrc'));
      w.feed(w.s.read(10, 100, '/home/u/.npmrc'));
      return w.feed(w.s.read(20, 100, '/home/u/.ssh/id_rsa'));
    }],
  ],
  'GI-XPKG-001': [
    ['writes inside its own nested node_modules', (w) => w.feed(w.s.write(10, 100, P('node_modules/dep/index.js')))],
    ['node_modules/.cache is not a package', (w) => w.feed(w.s.write(10, 100, '/proj/node_modules/.cache/pkg/x.json'))],
    ['node_modules/.bin is not a package', (w) => w.feed(w.s.link(10, 100, P('bin/cli.js'), '/proj/node_modules/.bin/cli'))],
    ['its own files', (w) => w.feed(w.s.write(10, 100, P('build/Release/x.node')))],
    ['the project\'s own files', (w) => w.feed(w.s.write(10, 100, '/proj/dist/x.js'))],
    ['deleting a file it created itself in another package', (w) => {
      w.feed(w.s.write(10, 100, '/proj/node_modules/other/.pkg-lock'));
      return w.feed(w.s.del(20, 100, '/proj/node_modules/other/.pkg-lock'));
    }],
  ],
  'GI-LIVE-001': [['a process that ended', (w) => w.feed(w.s.end(10, 100))]],
  'GI-VIS-001': [
    ['the run-wide "no tracer" notice is not about a script', (w) => w.feed(finalize({ kind: 'tracer-notice', ts: T0 + 10, process: { pid: 42 }, message: 'no tracer', tracer: 'none' }, { package: { name: '', version: '', path: '' }, npm: { lifecycle_event: '', script_id: '', ancestry: [] } }, w.seq.next()))],
    ['another notice about the script', (w) => w.feed(w.s.notice(10, 100, { notice: 'tracer-stopped', tracer_pid: 77 }))],
  ],
  'GI-VIS-002': [['the tracer ended (not stopped)', (w) => w.feed(w.s.notice(10, 100, { notice: 'tracer-lost', pids: [], ended: [] }))]],
  'GI-EVADE-001': [['a ptrace notice', (w) => w.feed(w.s.notice(10, 100, { notice: 'ptrace', call: 'ptrace(PTRACE_TRACEME) = -1 EPERM' }))]],
  'GI-EVADE-004': [['a trace check', (w) => w.feed(w.s.notice(10, 100, { notice: 'trace-check', target_pid: 100, path: '/proc/100/status' }))]],
  'GI-EVADE-002': [['a signal notice', (w) => w.feed(w.s.notice(10, 100, { notice: 'signal-to-supervisor', target_pid: 77, target_role: 'npm', signal: 'SIGTERM' }))]],
  'GI-EVADE-003': [
    ['ps reads every status', (w) => {
      w.feed(w.s.exec(10, 101, '/usr/bin/ps', ['ps', 'aux'], 100));
      return w.feed(w.s.notice(11, 101, { notice: 'trace-check', target_pid: 100, path: '/proc/100/status' }));
    }],
    ["a nested npm run goes through guarded-install's own shim, which checks TracerPid", (w) => {
      w.feed(w.s.exec(10, 101, OWN_SHIM, [OWN_SHIM, '-c', 'node build.js'], 100));
      return w.feed(w.s.notice(11, 101, { notice: 'trace-check', target_pid: 101, path: '/proc/101/status' }));
    }],
  ],
};

describe('the catalog', () => {
  it('has unique ids, and every rule listens to at least one kind', () => {
    const ids = RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of RULES) {
      expect(r.on.length, r.id).toBeGreaterThan(0);
      expect(r.points, r.id).toBeGreaterThan(0);
      expect(r.mitre, r.id).toMatch(/^T\d{4}(\.\d{3})?$/);
      expect(r.id).toMatch(/^GI-[A-Z]+-\d{3}$/);
    }
  });

  it('RULES_BY_KIND indexes every rule under each of its kinds', () => {
    for (const r of RULES) for (const k of r.on) expect(RULES_BY_KIND.get(k)).toContain(r);
  });

  it('every rule has positive and negative cases in this file', () => {
    for (const r of RULES) {
      expect(POSITIVE[r.id]?.length ?? 0, `${r.id} positive`).toBeGreaterThan(0);
      expect(NEGATIVE[r.id]?.length ?? 0, `${r.id} negative`).toBeGreaterThan(0);
    }
    // and no stale cases for rules that no longer exist
    const ids = new Set(RULES.map((r) => r.id));
    for (const id of [...Object.keys(POSITIVE), ...Object.keys(NEGATIVE)]) expect(ids.has(id), id).toBe(true);
  });
});

for (const rule of RULES) {
  describe(rule.id, () => {
    for (const [name, run] of POSITIVE[rule.id] ?? []) {
      it(`fires: ${name}`, () => expect(run(new World())).toContain(rule.id));
    }
    for (const [name, run] of NEGATIVE[rule.id] ?? []) {
      it(`does not fire: ${name}`, () => expect(run(new World())).not.toContain(rule.id));
    }
  });
}

describe('tricky combinations', () => {
  it('a shell under node: GI-PROC-001 only, no other process rule', () => {
    const w = new World();
    expect(w.feed(w.s.exec(10, 101, SH, [SH, '-c', 'pkg-config --modversion vips-cpp'], 100))).toEqual(['GI-PROC-001']);
  });

  it('the root shell of the script (ancestry []) is silent even though npm, its parent, is node', () => {
    const w = new World();
    expect(w.feed(w.s.exec(10, 100, SH, [SH, '-c', 'node setup.js']))).toEqual([]);
  });

  it('public system resolver on :53 is not egress; the same resolver on :443 is', () => {
    const w = new World('node setup.js', { ...HOST, resolvers: ['8.8.8.8'] });
    expect(w.feed(w.s.connect(10, 100, '8.8.8.8', 53, { transport: 'udp' }))).toEqual([]);
    expect(w.feed(w.s.connect(20, 100, '8.8.8.8', 443))).toEqual(['GI-NET-001']);
  });

  it('another resolver is GI-NET-004 (and GI-NET-001 when public)', () => {
    const w = new World();
    expect(w.feed(w.s.connect(10, 100, '10.0.0.99', 53, { transport: 'udp' }))).toEqual(expect.arrayContaining(['GI-NET-004', 'GI-NET-003']));
    expect(w.feed(w.s.connect(10, 100, '9.9.9.9', 53, { transport: 'udp' }))).toEqual(expect.arrayContaining(['GI-NET-004', 'GI-NET-001']));
  });

  it('loopback is never egress, whatever the port or process', () => {
    const w = new World();
    w.feed(w.s.exec(5, 101, '/usr/bin/bash', ['bash'], 100));
    for (const [ip, port] of [['127.0.0.1', 53], ['127.0.0.53', 53], ['::1', 443], ['::ffff:127.0.0.1', 80], ['0.0.0.0', 8080]] as const) {
      expect(w.feed(w.s.connect(10, 100, ip, port, { transport: 'udp' })), `${ip}:${port}`).toEqual([]);
      expect(w.feed(w.s.connect(10, 101, ip, port)), `bash ${ip}:${port}`).toEqual([]);
    }
  });

  it('169.254.169.254 is GI-NET-002 only', () => {
    const w = new World();
    expect(w.feed(w.s.connect(10, 100, '169.254.169.254', 80))).toEqual(['GI-NET-002']);
  });

  it('rename of package.md onto package.json: decoy swap plus shipped-file churn', () => {
    const w = new World();
    expect(w.feed(w.s.rename(10, 100, P('package.md'), P('package.json'))).sort()).toEqual(['GI-CHURN-002', 'GI-CHURN-003']);
  });

  it('deleting the script\'s own build temp file: no churn of any kind', () => {
    const w = new World();
    w.feed(w.s.write(10, 100, P('build/.deps-1.d')));
    expect(w.feed(w.s.del(20, 100, P('build/.deps-1.d')))).toEqual([]);
  });

  it('GI-CHURN-004 boundary: 60 s exactly fires, 60.001 s does not', () => {
    const at = (ms: number): string[] => {
      const w = new World();
      const other = w.other('other');
      w.feed(other.write(1_000, 500, '/proj/node_modules/other/lib/gen.js'));
      return w.feed(w.s.del(1_000 + ms, 100, '/proj/node_modules/other/lib/gen.js'));
    };
    expect(at(60_000)).toContain('GI-CHURN-004');
    expect(at(60_001)).not.toContain('GI-CHURN-004');
    expect(at(61_000)).not.toContain('GI-CHURN-004');
  });

  it('write-then-delete by another script is also a cross-package write', () => {
    const w = new World();
    const other = w.other('other');
    w.feed(other.write(1_000, 500, '/proj/node_modules/other/lib/gen.js'));
    expect(w.feed(w.s.del(2_000, 100, '/proj/node_modules/other/lib/gen.js')).sort()).toEqual(['GI-CHURN-004', 'GI-XPKG-001']);
  });

  it('.git/hooks -> GI-PERSIST-002 and nothing else', () => {
    const w = new World();
    expect(w.feed(w.s.write(10, 100, '/proj/.git/hooks/pre-commit'))).toEqual(['GI-PERSIST-002']);
  });

  it('~/.bashrc and .github/workflows are GI-PERSIST-001 without a payload-drop finding', () => {
    const w = new World();
    expect(w.feed(w.s.write(10, 100, '/home/u/.bashrc'))).toEqual(['GI-PERSIST-001']);
    expect(w.feed(w.s.write(20, 100, '/proj/.github/workflows/x.yml'))).toEqual(['GI-PERSIST-001']);
  });

  it('credential sweep: reads 1 and 2 are GI-CRED-001, the third adds GI-CRED-002', () => {
    const w = new World();
    expect(w.feed(w.s.read(10, 100, '/home/u/.npmrc'))).toEqual(['GI-CRED-001']);
    expect(w.feed(w.s.read(20, 100, '/home/u/.ssh/id_ed25519'))).toEqual(['GI-CRED-001']);
    expect(w.feed(w.s.read(30, 100, '/home/u/.aws/credentials')).sort()).toEqual(['GI-CRED-001', 'GI-CRED-002']);
  });

  it('the payload drop-and-run: created file in /tmp executed -> GI-PROC-004 and GI-PROC-005', () => {
    const w = new World();
    expect(w.feed(w.s.write(10, 100, '/tmp/.update-service'))).toEqual(['GI-DROP-001']);
    expect(w.feed(w.s.exec(20, 101, '/tmp/.update-service', ['/tmp/.update-service'], 100)).sort()).toEqual(['GI-PROC-004', 'GI-PROC-005']);
  });

  it('GI-PROC-004 evidence names the script that wrote the payload', () => {
    const w = new World();
    const other = w.other('other');
    w.feed(other.write(10, 500, '/proj/node_modules/other/bin/x'));
    const e = w.s.exec(20, 101, '/proj/node_modules/other/bin/x', ['x'], 100);
    const rule = RULES.find((r) => r.id === 'GI-PROC-004');
    expect(rule?.match(e, w.ctx)).toMatchObject({ writtenBy: 's-other', executable: '/proj/node_modules/other/bin/x' });
  });

  // BUG (src/rules/context.ts observe 'file-link', src/rules/catalog.ts GI-PROC-004):
  // observe() records a hard link as "created" AND "written", so executing a
  // linked copy of a shipped binary (esbuild's install.js links
  // @esbuild/<platform>/bin/esbuild to bin-esbuild, renames it over bin/esbuild
  // and runs `bin/esbuild --version`) is reported as "a file that a lifecycle
  // script wrote or downloaded was executed". A link writes no bytes.
  it('exec of a hard-linked file (esbuild-style) is not GI-PROC-004', () => {
    const w = new World('node install.js');
    const E = '/proj/node_modules/pkg';
    w.feed(w.s.link(10, 100, '/proj/node_modules/@esbuild/linux-x64/bin/esbuild', `${E}/bin-esbuild`));
    w.feed(w.s.rename(11, 100, `${E}/bin-esbuild`, `${E}/bin/esbuild`));
    expect(w.feed(w.s.exec(20, 101, `${E}/bin/esbuild`, [`${E}/bin/esbuild`, '--version'], 100))).not.toContain('GI-PROC-004');
  });

  // BUG (src/rules/context.ts observe 'file-delete'): a delete removes the path
  // from `created` but not from `written`; the next O_CREAT write of the same
  // path is then not recorded as a creation (`!this.written.has(path)`), so the
  // file counts as shipped and its second deletion is churn. Autoconf-style
  // builds (conftest.c created and removed again and again) trip this.
  it('a re-created and re-deleted temp file of the script is not churn (GI-CHURN-003/004)', () => {
    const w = new World();
    w.feed(w.s.write(10, 100, P('build/conftest.c')));
    w.feed(w.s.del(20, 100, P('build/conftest.c')));
    w.feed(w.s.write(30, 100, P('build/conftest.c')));
    const fired = w.feed(w.s.del(40, 100, P('build/conftest.c')));
    expect(fired).not.toContain('GI-CHURN-003');
    expect(fired).not.toContain('GI-CHURN-004');
  });

  // BUG (src/rules/catalog.ts GI-PROC-005, RuleContext.inHomeDotDir): node
  // installed by a version manager lives in a hidden home directory
  // (~/.nvm/versions/node/v20.19.0/bin/node, ~/.volta, ~/.fnm, ~/.asdf). The
  // script's own `node setup.js` then fires "a program ran from a hidden home
  // directory" for every package with a lifecycle script: a 40-point process
  // signal that any egress in the same window turns into an 80 (blocked).
  it('node from ~/.nvm running the install script is not GI-PROC-005', () => {
    const w = new World();
    const nvmNode = '/home/u/.nvm/versions/node/v20.19.0/bin/node';
    expect(w.feed(w.s.exec(10, 100, nvmNode, ['node', 'setup.js']))).not.toContain('GI-PROC-005');
  });

  // BUG (src/rules/catalog.ts:104, GI-PROC-006): the subcommand is taken to be
  // the first argument after npm that does not start with '-', so an option
  // with a separate value before the subcommand hides it:
  // `npm --registry https://registry.npmjs.org/ publish` -> sub = the URL.
  it('npm with an option value before the token command is still GI-PROC-006', () => {
    const w = new World();
    expect(w.feed(w.s.exec(10, 101, '/usr/bin/npm', ['npm', '--registry', 'https://registry.npmjs.org/', 'publish'], 100))).toContain('GI-PROC-006');
  });

  // GAP (src/rules/context.ts packageDirOf, `rest.length <= parts.length`): the
  // folder of a package is not "inside" any package, so renaming another
  // package's whole folder away, or a prepared folder over it, is never a
  // cross-package write (GI-XPKG-001 sees only changes to files within).
  it('swapping another package\'s whole folder by rename is GI-XPKG-001', () => {
    const w = new World();
    expect(w.feed(w.s.rename(10, 100, '/proj/node_modules/other', '/tmp/other.old'))).toContain('GI-XPKG-001');
    expect(w.feed(w.s.rename(20, 100, '/tmp/evil', '/proj/node_modules/other'))).toContain('GI-XPKG-001');
  });
});

describe('namedFiles', () => {
  it('always names package.json', () => {
    expect([...namedFiles('node-gyp rebuild', PKG)]).toEqual([`${PKG}/package.json`]);
  });

  it('`node setup.js` names setup.js (and the extension variants)', () => {
    const f = namedFiles('node setup.js', PKG);
    expect(f.has(`${PKG}/setup.js`)).toBe(true);
    expect(f.has(`${PKG}/package.json`)).toBe(true);
  });

  it('an extensionless script names its .js, .cjs, .mjs, .sh and /index.js forms', () => {
    const f = namedFiles('node scripts/postinstall', PKG);
    for (const ext of ['', '.js', '.cjs', '.mjs', '.sh', '/index.js']) expect(f.has(`${PKG}/scripts/postinstall${ext}`), ext).toBe(true);
  });

  it('`node -e "require(\'./postinstall\')"` names postinstall.js', () => {
    expect(namedFiles(`node -e "require('./postinstall')"`, PKG).has(`${PKG}/postinstall.js`)).toBe(true);
  });

  it('several commands chained', () => {
    const f = namedFiles('node ./install/check.js && sh ./scripts/build.sh', PKG);
    expect(f.has(`${PKG}/install/check.js`)).toBe(true);
    expect(f.has(`${PKG}/scripts/build.sh`)).toBe(true);
  });

  it('ignores flags, absolute paths and paths that escape the package', () => {
    const f = namedFiles('node --max-old-space-size=4096 /usr/lib/x.js ../other/setup.js ./ok.js', PKG);
    expect([...f].some((p) => p.startsWith('/usr/lib'))).toBe(false);
    expect([...f].some((p) => p.includes('other'))).toBe(false);
    expect([...f].some((p) => p.includes('max-old'))).toBe(false);
    expect(f.has(`${PKG}/ok.js`)).toBe(true);
  });

  it('a sibling folder sharing the prefix is not inside the package', () => {
    const f = namedFiles('node ../pkg-evil/x.js', PKG);
    expect([...f]).toEqual([`${PKG}/package.json`]);
  });
});

describe('packageDirOf', () => {
  it.each([
    ['/p/node_modules/x/a.js', '/p/node_modules/x'],
    ['/p/node_modules/x/lib/deep/a.js', '/p/node_modules/x'],
    ['/p/node_modules/@s/x/a.js', '/p/node_modules/@s/x'],
    ['/p/node_modules/a/node_modules/b/c.js', '/p/node_modules/a/node_modules/b'],
    ['/p/node_modules/a/node_modules/@s/b/c.js', '/p/node_modules/a/node_modules/@s/b'],
    ['/p/node_modules/x', '/p/node_modules/x'], // the folder itself (swapped whole)
    ['/p/node_modules/@s/x', '/p/node_modules/@s/x'],
  ])('%s -> %s', (path, dir) => expect(packageDirOf(path)).toBe(dir));

  it.each([
    ['/p/src/a.js'],
    ['/p/node_modules/.cache/x/a.js'],
    ['/p/node_modules/.bin/tsc'],
    ['/p/node_modules/.package-lock.json'],
    ['/p/node_modules/@s'],
    ['/p/node_modules/'],
  ])('%s -> undefined', (path) => expect(packageDirOf(path)).toBeUndefined());
});

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.0.0.53', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['0.0.0.0', 'loopback'],
    ['::', 'loopback'],
    ['10.0.0.53', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.1.1', 'private'],
    ['fe80::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['::ffff:10.1.2.3', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['fd00:ec2:0:0:0:0:0:254', 'metadata'],
    ['203.0.113.45', 'public'],
    ['198.51.100.7', 'public'],
    ['8.8.8.8', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['::ffff:8.8.8.8', 'public'],
  ])('%s is %s', (ip, cls) => expect(classifyAddress(ip)).toBe(cls));

  it.each([[undefined], [''], ['example.com'], ['999.1.1.1'], ['10.0.0.0/8'], ['/run/x.sock']])('%s is invalid', (ip) => expect(classifyAddress(ip)).toBe('invalid'));
});

describe('RuleContext', () => {
  it('expands ~, $TMP (each temp dir) and $PROJECT in globs', () => {
    const ctx = new RuleContext({ ...HOST, tempDirs: ['/tmp', '/var/tmp'] });
    expect(ctx.matches('~/.cache/**', '/home/u/.cache/a/b')).toBe(true);
    expect(ctx.matches('~/.cache/**', '/root/.cache/a')).toBe(false);
    expect(ctx.matches('$TMP/build-*', '/tmp/build-1')).toBe(true);
    expect(ctx.matches('$TMP/build-*', '/var/tmp/build-1')).toBe(true);
    expect(ctx.matches('$TMP/build-*', '/opt/build-1')).toBe(false);
    expect(ctx.matches('$PROJECT/.git/hooks/**', '/proj/.git/hooks/pre-push')).toBe(true);
    expect(ctx.matches('$PROJECT/.git/hooks/**', '/other/.git/hooks/pre-push')).toBe(false);
  });

  it('observe: a rename carries "created by" and "written" to the new name', () => {
    const w = new World();
    w.feed(w.s.write(10, 100, '/tmp/a'));
    w.feed(w.s.rename(20, 100, '/tmp/a', '/tmp/b'));
    expect(w.ctx.created.get('/tmp/b')).toBe('s1');
    expect(w.ctx.written.get('/tmp/b')?.scriptId).toBe('s1');
    expect(w.ctx.created.has('/tmp/a')).toBe(false);
    expect(w.ctx.written.has('/tmp/a')).toBe(false);
  });

  it('executableOf is per script and per pid', () => {
    const w = new World();
    expect(w.ctx.executableOf('s1', 100)).toBe(NODE);
    expect(w.ctx.executableOf('s2', 100)).toBeUndefined();
    expect(w.ctx.executableOf('s1', undefined)).toBeUndefined();
  });
});
