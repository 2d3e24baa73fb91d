// Evidence that survives the attack: the shim copies a package's manifest and
// the files its script names before the script runs; for every blocked package
// that copy is kept under .guarded-install/evidence/<name>@<version>/.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { LifecycleScript } from '../events/types.js';

export const EVIDENCE_DIR = join('.guarded-install', 'evidence');

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9@._+-]+/g, '_').replace(/^\.+/, '_');
}

// Copies the snapshots of `scripts` into the project; returns the folder.
export function keepEvidence(projectRoot: string, runDir: string, pkg: { name: string; version: string }, scripts: LifecycleScript[]): string | undefined {
  const target = join(projectRoot, EVIDENCE_DIR, `${safeName(pkg.name || 'root')}@${safeName(pkg.version || '0.0.0')}`);
  const manifest: Array<{ lifecycle: string; command: string; files: Array<{ path: string; bytes: number; sha256: string }> }> = [];
  for (const script of scripts) {
    const snapshot = join(runDir, 'evidence', script.id);
    if (!existsSync(snapshot)) continue;
    const dest = join(target, script.event || 'script');
    mkdirSync(dest, { recursive: true });
    cpSync(snapshot, dest, { recursive: true });
    manifest.push({
      lifecycle: script.event,
      command: script.command,
      files: listFiles(dest).map((file) => ({ path: relative(target, file), bytes: statSync(file).size, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') })),
    });
  }
  if (manifest.length === 0) return undefined;
  writeFileSync(join(target, 'manifest.json'), `${JSON.stringify({ package: { name: pkg.name, version: pkg.version }, packageDir: scripts[0]?.path, snapshots: manifest }, null, 2)}\n`);
  return target;
}
