// The Linux backend's choices that need no /proc: which name an executable is
// reported under. The rest of linux.ts runs against the real /proc in
// proc-tracer.test.ts.
import { describe, expect, it } from 'vitest';
import { chooseExecutable } from '../../../src/tracers/proc/linux.js';

const links: Record<string, string> = {
  '/bin/sh': '/usr/bin/dash',
  '/usr/bin/sh': '/usr/bin/dash',
  '/usr/bin/python3': '/usr/bin/python3.11',
  '/bin/wget': '/bin/busybox',
  '/w/tool': '/w/tool',
};
const resolveLink = (p: string): string | undefined => links[p];

describe('chooseExecutable', () => {
  it('names a program the way it was run when that leads to the same file (as strace shows execve)', () => {
    expect(chooseExecutable('/usr/bin/dash', '/bin/sh', '/w', resolveLink)).toBe('/bin/sh');
    expect(chooseExecutable('/usr/bin/dash', 'sh', '/w', resolveLink)).toBe('/usr/bin/sh');
    expect(chooseExecutable('/usr/bin/python3.11', 'python3', '/w', resolveLink)).toBe('/usr/bin/python3');
    expect(chooseExecutable('/bin/busybox', 'wget', '/w', resolveLink)).toBe('/bin/wget');
  });

  it('keeps the real file when argv[0] lies, is relative to nothing known, or is missing', () => {
    expect(chooseExecutable('/tmp/.x/stage2', 'kworker/0:1', '/w', resolveLink)).toBe('/tmp/.x/stage2');
    expect(chooseExecutable('/tmp/.x/stage2', '[kthreadd]', '/w', resolveLink)).toBe('/tmp/.x/stage2');
    expect(chooseExecutable('/usr/bin/dash', './sh', undefined, resolveLink)).toBe('/usr/bin/dash');
    expect(chooseExecutable('/usr/bin/node', undefined, '/w', resolveLink)).toBe('/usr/bin/node');
    expect(chooseExecutable(undefined, 'curl', '/w', resolveLink)).toBe('curl');
  });

  it('names a program deleted after it started by its path', () => {
    expect(chooseExecutable('/tmp/.x/stage2 (deleted)', '/tmp/.x/stage2', '/w', resolveLink)).toBe('/tmp/.x/stage2');
  });
});
