// Validates ECS documents against the field definitions we ship in
// test/fixtures/ecs/ (a subset of ECS 8.11's ecs_flat.yml). See its README.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';

interface FieldDef {
  type: string;
  normalize?: string[];
  allowed_values?: string[];
  required?: boolean;
}

export interface EcsSchema {
  ecs_version: string;
  fields: Record<string, FieldDef>;
  expected_event_types: Record<string, string[]>;
  custom_namespaces: Record<string, string>;
}

export const ECS_SCHEMA_PATH = fileURLToPath(new URL('../fixtures/ecs/ecs_flat_subset.json', import.meta.url));

export function loadEcsSchema(path = ECS_SCHEMA_PATH): EcsSchema {
  return JSON.parse(readFileSync(path, 'utf8')) as EcsSchema;
}

// dotted path -> value, arrays kept whole (ECS arrays are values, not objects)
export function flatten(doc: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [k, v] of Object.entries(doc)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...flatten(v as Record<string, unknown>, path));
    else out.push([path, v]);
  }
  return out;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function typeError(def: FieldDef, value: unknown): string | undefined {
  switch (def.type) {
    case 'keyword':
    case 'wildcard':
    case 'match_only_text':
    case 'text':
      return typeof value === 'string' ? undefined : `expected a string (${def.type})`;
    case 'long':
      return Number.isInteger(value) ? undefined : 'expected an integer (long)';
    case 'float':
    case 'scaled_float':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `expected a number (${def.type})`;
    case 'ip':
      return typeof value === 'string' && isIP(value) !== 0 ? undefined : 'expected an IPv4 or IPv6 address (ip)';
    case 'date':
      return typeof value === 'string' && ISO.test(value) && !Number.isNaN(Date.parse(value)) ? undefined : 'expected an ISO 8601 date';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'expected a boolean';
    default:
      return `unsupported ECS type ${def.type}`;
  }
}

// Problems with one document; empty when it conforms.
export function validateEcsDocument(doc: Record<string, unknown>, schema: EcsSchema): string[] {
  const errors: string[] = [];
  const leaves = flatten(doc);
  const present = new Set(leaves.map(([p]) => p));
  for (const [path, def] of Object.entries(schema.fields)) if (def.required && !present.has(path)) errors.push(`${path}: required`);
  if (!present.has('@timestamp')) errors.push('@timestamp: required');
  for (const [path, value] of leaves) {
    const top = path.split('.')[0] as string;
    if (top in schema.custom_namespaces) continue;
    const def = schema.fields[path];
    if (!def) {
      errors.push(`${path}: not an ECS field (and ${top}.* is not a documented custom namespace)`);
      continue;
    }
    const isArray = def.normalize?.includes('array') ?? false;
    if (isArray !== Array.isArray(value)) {
      errors.push(`${path}: ${isArray ? 'ECS normalizes it to an array' : 'not an array field'}`);
      continue;
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      const bad = typeError(def, v);
      if (bad) errors.push(`${path}: ${bad}, got ${JSON.stringify(v)}`);
      else if (def.allowed_values && !def.allowed_values.includes(v as string)) errors.push(`${path}: ${JSON.stringify(v)} is not an allowed value`);
    }
  }
  const event = doc.event as { category?: string[]; type?: string[] } | undefined;
  if (Array.isArray(event?.category) && Array.isArray(event?.type)) {
    const category = event.category as string[];
    for (const t of event.type as string[]) {
      if (!category.some((c) => schema.expected_event_types[c]?.includes(t))) errors.push(`event.type: ${t} is not expected with event.category ${category.join(', ')}`);
    }
  }
  return errors;
}

// Problems in an NDJSON file, each prefixed with its line number.
export function validateEcsNdjson(text: string, schema: EcsSchema = loadEcsSchema()): { lines: number; errors: string[] } {
  const errors: string[] = [];
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  lines.forEach((line, i) => {
    for (const e of validateEcsDocument(JSON.parse(line) as Record<string, unknown>, schema)) errors.push(`line ${i + 1}: ${e}`);
  });
  return { lines: lines.length, errors };
}
