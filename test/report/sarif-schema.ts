// Validates SARIF logs against the SARIF 2.1.0 JSON schema shipped in
// test/fixtures/sarif/ (draft 2020-12, formats enforced).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export const SARIF_SCHEMA_PATH = fileURLToPath(new URL('../fixtures/sarif/sarif-schema-2.1.0.json', import.meta.url));

let validator: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null } | undefined;

export function validateSarif(log: unknown): string[] {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(ajv);
    validator = ajv.compile(JSON.parse(readFileSync(SARIF_SCHEMA_PATH, 'utf8')) as object);
  }
  return validator(log) ? [] : (validator.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}
