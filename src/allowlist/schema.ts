// allowlist.json: entries scope expected *behaviour* of a package (hosts it may
// reach, paths it may write, commands it may run). They lower or remove only the
// findings they match; they never make a package immune.
// zod is required lazily: the built-in allowlist is trusted (a unit test
// validates it), so zod's ~90 ms of loading is paid only for a project's file.
import { createRequire } from 'node:module';
import type * as Zod from 'zod';
import { SIGNALS } from '../rules/types.js';

const requireCjs = createRequire(import.meta.url);

const MAX_STRING = 512;
const MAX_LIST = 500;

function buildSchemas() {
  const { z } = requireCjs('zod') as typeof Zod;
  const text = z.string().min(1).max(MAX_STRING);
  const list = z.array(text).max(MAX_LIST);

  const entry = z.strictObject({
    package: text.describe('package name or glob, e.g. "esbuild", "@swc/*", "*"'),
    versions: text.optional().describe('semver range, default "*"'),
    reason: z.string().max(2000).optional(),
    egress: list.optional().describe('hosts ("registry.npmjs.org", "*.github.com") or IPs/CIDRs ("10.0.0.0/8"), optional ":port"'),
    paths: list.optional().describe('globs of paths it may write or delete; "~" is HOME, "$TMP" any temp dir, "$PROJECT" the project root'),
    commands: list.optional().describe('executables or argv globs it may run, e.g. "pkg-config", "/bin/sh -c pkg-config*"'),
    rules: z.array(z.string().regex(/^GI-[A-Z]+-\d{3}$/, 'a rule id like GI-NET-001')).max(100).optional().describe('limit the entry to these rules'),
    signals: z.array(z.enum(SIGNALS)).max(SIGNALS.length).optional().describe('limit the entry to these signals'),
    points: z.number().int().min(0).max(100).optional().describe('points left on a matched finding; default 0 (removed)'),
  });

  const file = z.strictObject({
    $schema: z.string().max(MAX_STRING).optional(),
    version: z.literal(1),
    entries: z.array(entry).max(10_000),
  });
  return { entry, file };
}

let built: ReturnType<typeof buildSchemas> | undefined;
export const allowlistSchemas = (): ReturnType<typeof buildSchemas> => (built ??= buildSchemas());

export type AllowlistEntry = Zod.infer<ReturnType<typeof buildSchemas>['entry']>;
export type AllowlistFile = Zod.infer<ReturnType<typeof buildSchemas>['file']>;
