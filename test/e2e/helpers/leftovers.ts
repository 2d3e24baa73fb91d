// Processes a run may have left: still running with their cwd or environment
// inside the run's temp root (a script's processes start in its package folder
// and inherit HOME/TMPDIR; env -i'd ones keep their cwd). Read from /proc.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { sleep } from './proc.js';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function processesUnder(root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const stat = read(`/proc/${name}/stat`);
    if (!stat || /\) [ZX] /.test(stat)) continue;
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${name}/cwd`);
    } catch {
      // gone
    }
    if (cwd.startsWith(root) || (read(`/proc/${name}/environ`) ?? '').includes(root)) out.push(`${name} ${(read(`/proc/${name}/cmdline`) ?? '').split('\0').join(' ')}`);
  }
  return out;
}

// What is still running under `root` after up to `ms` (empty: nothing left).
export async function leftoversUnder(root: string, ms = 3_000): Promise<string[]> {
  let left = processesUnder(root);
  for (const end = Date.now() + ms; left.length > 0 && Date.now() < end; left = processesUnder(root)) await sleep(100);
  return left;
}
