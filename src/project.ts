// The project guarded-install installs: --cwd must hold a package.json that is
// a JSON object. Checked before npm starts, so a wrong -C or a broken
// package.json is one clear line and exit 2 — not npm's multi-line error
// followed by a "pass" verdict, nor (with no package.json at all) a lockfile
// written into whatever folder this was.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeFsError, UsageError } from './errors.js';

export function checkProject(cwd: string): void {
  const path = join(cwd, 'package.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`${cwd}: no package.json here (run guarded-install in the project folder, or pass -C <project folder>)`, { cause: error });
    throw new UsageError(`${path}: cannot read it: ${describeFsError(error)}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new UsageError(`${path}: not valid JSON (${(error as Error).message.split('\n')[0]})`, { cause: error });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${path}: expected a JSON object, got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`);
}
