// Parser for the macOS backend's process list, run with LC_ALL=C:
//   ps -A -o pid=,ppid=,lstart=,command=
// Pure: recorded output in, rows out.

export interface PsRow {
  pid: number;
  ppid: number;
  // local time, one-second resolution
  startMs: number;
  command: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
// `  812     1 Mon Nov 23 07:20:56 2026 /usr/sbin/cfprefsd agent`
const PS_LINE = /^\s*(\d+)\s+(\d+)\s+[A-Z][a-z]{2}\s+([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})(?: (.*))?$/;

export function parsePs(text: string): PsRow[] {
  const rows: PsRow[] = [];
  for (const line of text.split('\n')) {
    const m = PS_LINE.exec(line);
    if (!m) continue;
    const month = MONTHS.indexOf(m[3] ?? '');
    if (month < 0) continue;
    const startMs = new Date(Number(m[8]), month, Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7])).getTime();
    rows.push({ pid: Number(m[1]), ppid: Number(m[2]), startMs, command: (m[9] ?? '').trim() });
  }
  return rows;
}

// ps joins argv with spaces: splitting it back is a guess (an argument with a
// space in it becomes two).
export function splitCommand(command: string): string[] {
  return command.split(' ').filter((a) => a !== '');
}
