// Evidence that survives the attack: the shim copies a package's manifest and
// the files its script names before the script runs; for every blocked package
// that copy is kept under .guarded-install/evidence/<name>@<version>/.
// Kept whole or not at all: staged in a fresh folder next to the target, then
// renamed into place; the folders on the way must be real folders (a script
// may have planted a symlink there to make us write elsewhere).
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describeFsError, OutputError } from '../errors.js';
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

// mkdir -p that refuses to pass through a symlink.
function realDir(root: string, parts: string[]): string {
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    try {
      mkdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!lstatSync(dir).isDirectory()) throw new OutputError(`cannot keep evidence in ${dir}: it is not a folder (a symlink or file is in the way; not following it)`);
  }
  return dir;
}

// Copies the snapshots of `scripts` into the project; returns the folder. When
// it cannot (read-only or full disk, a symlink in the way) it says so in one
// line through `warn`, leaves nothing half copied and returns undefined: the
// verdict on the package stands either way.
export function keepEvidence(
  projectRoot: string,
  runDir: string,
  pkg: { name: string; version: string },
  scripts: LifecycleScript[],
  warn: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): string | undefined {
  try {
    return copyEvidence(projectRoot, runDir, pkg, scripts);
  } catch (error) {
    warn(`guarded-install: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

function copyEvidence(projectRoot: string, runDir: string, pkg: { name: string; version: string }, scripts: LifecycleScript[]): string | undefined {
  const snapshots = scripts.map((script) => ({ script, from: join(runDir, 'evidence', script.id) })).filter((s) => existsSync(s.from));
  if (snapshots.length === 0) return undefined;
  const leaf = `${safeName(pkg.name || 'root')}@${safeName(pkg.version || '0.0.0')}`;
  let target = join(projectRoot, EVIDENCE_DIR, leaf);
  let staging: string | undefined;
  try {
    const root = realDir(projectRoot, EVIDENCE_DIR.split(/[\\/]/));
    target = join(root, leaf);
    staging = mkdtempSync(join(root, `.${leaf}.staging-`));
    const manifest: Array<{ lifecycle: string; command: string; files: Array<{ path: string; bytes: number; sha256: string }> }> = [];
    for (const { script, from } of snapshots) {
      const dest = join(staging, safeName(script.event || 'script'));
      mkdirSync(dest, { recursive: true });
      cpSync(from, dest, { recursive: true });
      manifest.push({
        lifecycle: script.event,
        command: script.command,
        files: listFiles(dest).map((file) => ({ path: relative(staging as string, file), bytes: statSync(file).size, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') })),
      });
    }
    writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify({ package: { name: pkg.name, version: pkg.version }, packageDir: scripts[0]?.path, snapshots: manifest }, null, 2)}\n`);
    // an earlier run's copy of the same package@version (or anything planted there) goes
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
    staging = undefined;
    return target;
  } catch (error) {
    if (staging) rmSync(staging, { recursive: true, force: true });
    if (error instanceof OutputError) throw error;
    throw new OutputError(`cannot keep evidence of ${pkg.name}@${pkg.version} in ${target}: ${describeFsError(error)}`, { cause: error });
  }
}
