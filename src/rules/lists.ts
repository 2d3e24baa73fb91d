// Named lists the rules refer to (Falco-style): what counts as a shell, a
// download tool, a persistence location. Data, not logic.
import { fileURLToPath } from 'node:url';

export const SHELLS = ['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'ash', 'fish', 'csh', 'tcsh', 'busybox'] as const;
export const DOWNLOAD_TOOLS = ['curl', 'wget', 'nc', 'ncat', 'netcat', 'socat', 'telnet', 'ftp', 'tftp', 'aria2c', 'scp', 'sftp', 'rsync', 'ssh'] as const;
export const INTERPRETERS = ['python', 'python2', 'python3', 'perl', 'ruby', 'php', 'bun', 'deno', 'lua', 'osascript', 'powershell', 'pwsh'] as const;
export const JS_RUNTIMES = ['node', 'nodejs', 'bun', 'deno'] as const;
// npm subcommands a worm uses to learn whose token it holds and to spread
export const NPM_TOKEN_COMMANDS = ['publish', 'whoami', 'token', 'adduser', 'login', 'owner', 'access', 'dist-tag', 'unpublish', 'deprecate'] as const;

export const CLOUD_METADATA_IPS = ['169.254.169.254', 'fd00:ec2::254', '169.254.170.2'] as const;

// Globs; `~` is the run's HOME, `$TMP` each temp dir, `$PROJECT` the project root.
export const PERSISTENCE_PATHS: ReadonlyArray<{ glob: string; what: string; mitre: string }> = [
  { glob: '~/.bashrc', what: 'shell rc file', mitre: 'T1546.004' },
  { glob: '~/.bash_profile', what: 'shell rc file', mitre: 'T1546.004' },
  { glob: '~/.bash_login', what: 'shell rc file', mitre: 'T1546.004' },
  { glob: '~/.profile', what: 'shell rc file', mitre: 'T1546.004' },
  { glob: '~/.zshrc', what: 'shell rc file', mitre: 'T1546.004' },
  { glob: '~/.zprofile', what: 'shell rc file', mitre: 'T1546.004' },
  { glob: '~/.zshenv', what: 'shell rc file', mitre: 'T1546.004' },
  { glob: '~/.config/fish/**', what: 'shell rc file', mitre: 'T1546.004' },
  { glob: '/etc/profile.d/**', what: 'shell rc file', mitre: 'T1546.004' },
  { glob: '/etc/cron*/**', what: 'cron job', mitre: 'T1053.003' },
  { glob: '/etc/crontab', what: 'cron job', mitre: 'T1053.003' },
  { glob: '/var/spool/cron/**', what: 'cron job', mitre: 'T1053.003' },
  { glob: '~/.config/systemd/user/**', what: 'systemd user unit', mitre: 'T1543.002' },
  { glob: '/etc/systemd/**', what: 'systemd unit', mitre: 'T1543.002' },
  { glob: '~/.config/autostart/**', what: 'autostart entry', mitre: 'T1547.013' },
  { glob: '/etc/xdg/autostart/**', what: 'autostart entry', mitre: 'T1547.013' },
  { glob: '~/Library/LaunchAgents/**', what: 'launch agent', mitre: 'T1543.001' },
  { glob: '**/.github/workflows/**', what: 'CI workflow', mitre: 'T1195.002' },
  { glob: '**/.gitlab-ci.yml', what: 'CI workflow', mitre: 'T1195.002' },
  { glob: '~/.ssh/authorized_keys', what: 'SSH authorized key', mitre: 'T1098.004' },
];

// Git hooks are written by husky/lefthook on purpose: a weak signal on its own.
export const GIT_HOOK_GLOB = '**/.git/hooks/**';

// Where a second stage is typically dropped (besides temp dirs).
export const HOME_DROP_GLOBS = ['~/.*/**'] as const;

// Never payloads: device files and the like.
export const IGNORED_WRITE_PREFIXES = ['/dev/', '/proc/', '/sys/'] as const;

// Tools that read every process's /proc status as their job (not a tracer check).
export const PROCESS_TOOLS = ['ps', 'top', 'htop', 'pgrep', 'pkill', 'pidof', 'pstree', 'free', 'uptime', 'w', 'watch'] as const;

// Our own script-shell: a nested `npm run` reads its TracerPid to not trace twice.
export const OWN_SHIM = fileURLToPath(new URL('../../shim/script-shell.sh', import.meta.url));
