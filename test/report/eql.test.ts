// examples/elastic/: the EQL queries over our ECS events refer only to fields
// and event.action values guarded-install writes, and the seed rule's
// sequence, evaluated by hand over a recorded blocked run, matches it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EventKind } from '../../src/events/types.js';
import { loadEcsSchema } from './ecs.js';

const ELASTIC = new URL('../../examples/elastic/', import.meta.url);
const QUERIES = ['node-install-script-child.eql', 'three-signal.eql'];
const schema = loadEcsSchema();
// every kind the event model has (the record type keeps this list complete)
const KIND_SET: { [K in EventKind]: true } = {
  'run-start': true, 'script-start': true, 'script-end': true, 'process-start': true, 'process-end': true, 'process-detach': true,
  'network-connect': true, 'dns-query': true, 'file-write': true, 'file-delete': true, 'file-rename': true, 'dir-create': true, 'file-link': true,
  'sensitive-read': true, 'process-outside-script': true, 'process-outlived-script': true, 'process-outlived-install': true, 'tracer-notice': true,
};

function fieldsOf(query: string): string[] {
  const code = query.replace(/"[^"]*"/g, '""');
  return [...new Set([...code.matchAll(/\b([a-z_@][a-z0-9_]*(?:\.[a-z0-9_]+)+)\b/g)].map((m) => m[1] as string))];
}

function actionsOf(query: string): string[] {
  const out: string[] = [];
  for (const m of query.matchAll(/event\.action\s*(?:==\s*"([^"]+)"|in\s*\(([^)]*)\))/g)) {
    if (m[1]) out.push(m[1]);
    if (m[2]) out.push(...[...m[2].matchAll(/"([^"]+)"/g)].map((x) => x[1] as string));
  }
  return out;
}

describe.each(QUERIES)('examples/elastic/%s', (file) => {
  const query = readFileSync(new URL(file, ELASTIC), 'utf8');

  it('is the query the README shows', () => {
    expect(readFileSync(new URL('README.md', ELASTIC), 'utf8')).toContain(query.trim());
  });

  it('uses only ECS fields we write or our documented custom namespaces', () => {
    const fields = fieldsOf(query);
    expect(fields.length).toBeGreaterThan(3);
    for (const f of fields) expect(f in schema.fields || (f.split('.')[0] as string) in schema.custom_namespaces, f).toBe(true);
  });

  it('matches event.action values guarded-install emits', () => {
    const actions = actionsOf(query);
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) expect(a in KIND_SET, a).toBe(true);
  });
});

interface Doc {
  '@timestamp': string;
  event: { action: string; type: string[] };
  host: { id: string; os: { type: string } };
  process: { pid: number; name?: string; args?: string[]; parent?: { pid: number } };
  npm: { script_id: string; lifecycle_event: string };
}

// node-install-script-child.eql, by hand: per (host.id, npm.script_id), a node
// process start in an install hook, then within 10 s a process start whose
// parent pid is that node's pid.
function seedSequence(docs: Doc[]): Array<[Doc, Doc]> {
  const starts = docs.filter((d) => d.host.os.type === 'linux' && d.event.type.includes('start') && d.event.action === 'process-start');
  const matches: Array<[Doc, Doc]> = [];
  for (const first of starts) {
    if (first.process.name !== 'node' || !['preinstall', 'install', 'postinstall'].includes(first.npm.lifecycle_event)) continue;
    const t0 = Date.parse(first['@timestamp']);
    const second = starts.find((d) => d !== first && d.host.id === first.host.id && d.npm.script_id === first.npm.script_id && d.process.parent?.pid === first.process.pid && Date.parse(d['@timestamp']) >= t0 && Date.parse(d['@timestamp']) - t0 <= 10_000);
    if (second) matches.push([first, second]);
  }
  return matches;
}

describe('the seed rule\'s sequence over a recorded blocked run', () => {
  it('matches axios-plain-crypto: node setup.js starting its dropped second stage', () => {
    const docs = readFileSync(new URL('../fixtures/sarif/axios-plain-crypto.events.ndjson', import.meta.url), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Doc);
    const matches = seedSequence(docs);
    expect(matches.map(([a, b]) => [a.process.args?.join(' '), b.process.args?.[0]?.split('/').pop()])).toEqual([['node setup.js', '.update-service']]);
  });
});
