// The --events NDJSON is Elastic Common Schema conformant: every event kind,
// serialized by toEcs, validates against the ECS 8.11 field definitions in
// test/fixtures/ecs/ (custom fields only under npm.*, npm_script.*, syscall.*,
// run.*), and fromEcs gives analyze back what the rules read.
import { describe, expect, it } from 'vitest';
import { buildEvent, UNATTRIBUTED, type EventInput } from '../../src/events/build.js';
import { ECS_VERSION, ecsHost, fromEcs, toEcs } from '../../src/events/ecs.js';
import type { Attribution, EventKind, GuardedEvent } from '../../src/events/types.js';
import { loadEcsSchema, validateEcsDocument, validateEcsNdjson } from './ecs.js';

const schema = loadEcsSchema();
const T = Date.parse('2026-01-02T03:04:05.678Z');
const attr: Attribution = {
  package: { name: 'evil-pkg', version: '1.2.3', path: '/p/node_modules/evil-pkg' },
  npm: { lifecycle_event: 'postinstall', script_id: '4242', ancestry: [4242] },
};
const proc = { pid: 4243, parent: { pid: 4242 }, executable: '/usr/bin/node', name: 'node', args: ['node', 'setup.js'], working_directory: '/p/node_modules/evil-pkg' };

// One input per event kind; the record type makes a new kind a compile error here.
const INPUTS: { [K in EventKind]: EventInput } = {
  'run-start': { kind: 'run-start', ts: T, process: { pid: 1 }, run: { home: '/h', temp_dirs: ['/tmp'], resolvers: ['10.0.0.53'], project_root: '/p', tracer: 'strace', npm_args: ['install'] }, host: { hostname: 'box', os: { type: 'linux', platform: 'linux' } } },
  'script-start': { kind: 'script-start', ts: T, process: { pid: 4242, args: ['/bin/sh', '-c', 'node setup.js'] }, npm_script: { command: 'node setup.js', shell: '/bin/sh' } },
  'script-end': { kind: 'script-end', ts: T, process: { pid: 4242, exit_code: 0 } },
  'process-start': { kind: 'process-start', ts: T, process: proc },
  'process-end': { kind: 'process-end', ts: T, process: { ...proc, exit_code: 137, signal: 'SIGKILL', uptime_ms: 2600 } },
  'process-detach': { kind: 'process-detach', ts: T, process: proc },
  'network-connect': { kind: 'network-connect', ts: T, process: proc, destination: { ip: '203.0.113.45', port: 443, address: '203.0.113.45', domain: 'c2.example' }, network: { transport: 'tcp', type: 'ipv4' }, syscall: { name: 'connect', result: 'EINPROGRESS' }, outcome: 'success' },
  'dns-query': { kind: 'dns-query', ts: T, process: proc, dns: { question: { name: 'c2.example' } }, destination: { ip: '8.8.8.8', port: 53, address: '8.8.8.8' } },
  'file-write': { kind: 'file-write', ts: T, process: proc, file: { path: '/tmp/.x' }, syscall: { name: 'openat', flags: ['O_WRONLY', 'O_CREAT'] } },
  'file-delete': { kind: 'file-delete', ts: T, process: proc, file: { path: '/p/node_modules/evil-pkg/setup.js', type: 'file' }, syscall: { name: 'unlinkat' } },
  'file-rename': { kind: 'file-rename', ts: T, process: proc, file: { path: '/p/node_modules/evil-pkg/package.json' }, syscall: { name: 'rename', source_path: '/p/node_modules/evil-pkg/package.md' } },
  'dir-create': { kind: 'dir-create', ts: T, process: proc, file: { path: '/tmp/.cache', type: 'dir' }, syscall: { name: 'mkdirat' } },
  'file-link': { kind: 'file-link', ts: T, process: proc, file: { path: '/tmp/l', target_path: '/tmp/.x' }, syscall: { name: 'symlinkat' } },
  'sensitive-read': { kind: 'sensitive-read', ts: T, process: proc, file: { path: '/h/.npmrc' }, syscall: { name: 'openat' }, outcome: 'failure' },
  'process-outside-script': { kind: 'process-outside-script', ts: T, process: { pid: 99, parent: { pid: 1 }, args: ['node', 'x'] } },
  'process-outlived-script': { kind: 'process-outlived-script', ts: T, process: proc, outcome_action: 'left-running' },
  'process-outlived-install': { kind: 'process-outlived-install', ts: T, process: proc, outcome_action: 'killed' },
  'tracer-notice': { kind: 'tracer-notice', ts: T, process: { pid: 1 }, message: 'not traced', tracer: 'none' },
};

const events = Object.values(INPUTS).map((input) => buildEvent(input, input.kind === 'run-start' || input.kind === 'tracer-notice' ? UNATTRIBUTED : attr));

describe('ECS event documents', () => {
  it.each(events.map((e) => [e.kind, e] as const))('%s validates against the ECS 8.11 field definitions', (_kind, event) => {
    const doc = toEcs(event);
    expect(validateEcsDocument(doc, schema)).toEqual([]);
    expect(doc).toMatchObject({ ecs: { version: ECS_VERSION }, event: { kind: 'event', action: event.kind, module: 'guarded_install' } });
    expect(doc.kind).toBeUndefined();
  });

  it('every document carries host.* (EQL sequences join on host.id)', () => {
    const host = ecsHost();
    for (const e of events) expect(toEcs(e).host).toMatchObject({ id: host.id, hostname: e.kind === 'run-start' ? 'box' : host.hostname, os: { type: host.os.type } });
    expect(['linux', 'macos', 'unix', 'windows', 'ios', 'android']).toContain(host.os.type);
  });

  it('moves what ECS has no field for into custom namespaces', () => {
    const byKind = (k: EventKind): Record<string, unknown> => toEcs(events.find((e) => e.kind === k) as GuardedEvent);
    expect(byKind('process-end')).toMatchObject({ process: { exit_code: 137, uptime: 3 }, syscall: { signal: 'SIGKILL' } });
    expect((byKind('process-end').process as Record<string, unknown>).signal).toBeUndefined();
    expect(byKind('tracer-notice')).toMatchObject({ run: { tracer: 'none' }, message: 'not traced' });
    expect(byKind('tracer-notice').tracer).toBeUndefined();
    expect(byKind('process-outlived-install')).toMatchObject({ run: { outcome_action: 'killed' } });
  });

  it('fromEcs restores the in-memory fields analyze and the rules read', () => {
    for (const e of events) {
      const back = fromEcs(JSON.parse(JSON.stringify(toEcs(e))) as Record<string, unknown>, e.kind);
      expect(back).toMatchObject({ kind: e.kind, '@timestamp': e['@timestamp'], package: e.package, npm: e.npm, event: { action: e.kind, sequence: e.event.sequence } });
      if (e.kind === 'tracer-notice') expect(back).toMatchObject({ tracer: 'none' });
      if (e.kind === 'process-outlived-install') expect(back).toMatchObject({ outcome_action: 'killed' });
      if (e.kind === 'process-end') expect(back).toMatchObject({ process: { signal: 'SIGKILL', exit_code: 137 } });
    }
  });

  it('fromEcs leaves logs written before the mapping as they were', () => {
    const old = { ...toEcs(events[0] as GuardedEvent), tracer: 'none', process: { pid: 1, signal: 'SIGTERM' } };
    expect(fromEcs(old, 'tracer-notice')).toMatchObject({ tracer: 'none', process: { signal: 'SIGTERM' } });
  });
});

describe('the ECS validator bites', () => {
  const good = toEcs(events.find((e) => e.kind === 'network-connect') as GuardedEvent);
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unknown field inside an ECS field set', { ...good, process: { ...(good.process as object), signal: 'SIGKILL' } }, /process\.signal: not an ECS field/],
    ['an undocumented top-level field', { ...good, tracer: 'none' }, /tracer: not an ECS field/],
    ['a wrong type', { ...good, destination: { ...(good.destination as object), port: '443' } }, /destination\.port: expected an integer/],
    ['an invalid ip', { ...good, destination: { ...(good.destination as object), ip: 'c2.example' } }, /destination\.ip: expected an IPv4/],
    ['a disallowed value', { ...good, event: { ...(good.event as object), kind: 'telemetry' } }, /event\.kind: "telemetry" is not an allowed value/],
    ['a category/type mismatch', { ...good, event: { ...(good.event as object), type: ['deletion'] } }, /event\.type: deletion is not expected with event\.category network/],
    ['a scalar where ECS wants an array', { ...good, event: { ...(good.event as object), category: 'network' } }, /event\.category: ECS normalizes it to an array/],
    ['a missing ecs.version', { ...good, ecs: {} }, /ecs\.version: required/],
  ];
  it.each(cases)('rejects %s', (_name, doc, message) => {
    expect(validateEcsDocument(doc, schema).join('\n')).toMatch(message);
  });

  it('reports the line of a bad document in an NDJSON file', () => {
    const text = `${JSON.stringify(good)}\n${JSON.stringify({ ...good, tracer: 'none' })}\n`;
    expect(validateEcsNdjson(text, schema)).toEqual({ lines: 2, errors: ['line 2: tracer: not an ECS field (and tracer.* is not a documented custom namespace)'] });
  });
});
