// Facts about this machine that rules depend on, recorded in the run-start event
// so that a replayed log is scored exactly as it was live.
import { promises as dns } from 'node:dns';
import { readFileSync, realpathSync } from 'node:fs';
import { homedir, hostname, platform, tmpdir, type } from 'node:os';
import type { HostFacts } from './rules/context.js';

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

export function systemResolvers(resolvConf = '/etc/resolv.conf'): string[] {
  try {
    return [...readFileSync(resolvConf, 'utf8').matchAll(/^\s*nameserver\s+([0-9a-fA-F.:]+)/gm)].map((m) => m[1] ?? '').filter(Boolean);
  } catch {
    return [];
  }
}

export function hostFacts(env: NodeJS.ProcessEnv, projectRoot: string): HostFacts {
  const temps = ['/tmp', '/var/tmp', '/dev/shm', env.TMPDIR, tmpdir()].filter((d): d is string => Boolean(d));
  return {
    home: real(env.HOME ?? homedir()),
    tempDirs: [...new Set(temps.flatMap((d) => [d.replace(/\/+$/, ''), real(d)]))],
    resolvers: systemResolvers(),
    projectRoot: real(projectRoot),
  };
}

export function hostIdentity(): { hostname: string; os: { type: string; platform: string } } {
  return { hostname: hostname(), os: { type: type().toLowerCase(), platform: platform() } };
}

// Resolves allowlisted hostnames in the background so connections seen only
// as IPs can be matched by name. Best effort, bounded, never blocks the install.
export function resolveInBackground(hosts: string[], timeoutMs = 2000): Map<string, string> {
  const byIp = new Map<string, string>();
  for (const host of hosts.slice(0, 200)) {
    const timeout = new Promise<[]>((resolve) => setTimeout(() => resolve([]), timeoutMs).unref());
    void Promise.race([dns.lookup(host, { all: true }).catch(() => []), timeout]).then((addrs) => {
      for (const a of addrs) if (!byIp.has(a.address)) byIp.set(a.address, host);
    });
  }
  return byIp;
}
