// Files whose mere reading by an install script is a credential-access signal
// (tokens, keys, cloud and registry credentials). Matched against absolute paths.
import picomatch from 'picomatch';

export const SENSITIVE_PATH_GLOBS: readonly string[] = [
  '**/.npmrc',
  '**/.yarnrc.yml',
  '**/.netrc',
  '**/.git-credentials',
  '**/.pypirc',
  '**/.ssh/**',
  '**/.aws/credentials',
  '**/.aws/config',
  '**/.config/gh/hosts.yml',
  '**/.docker/config.json',
  '**/.kube/config',
  '**/.config/gcloud/**',
  '**/.azure/**',
  '**/.gnupg/**',
  '**/.env',
  '**/.env.*',
  '**/.terraform.d/credentials.tfrc.json',
  '/etc/shadow',
  '/etc/gshadow',
  '/proc/*/environ',
];

const isSensitive = picomatch(SENSITIVE_PATH_GLOBS as string[], { dot: true });

export function isSensitivePath(path: string): boolean {
  return isSensitive(path);
}
