// What the proc tracer's file watcher covers: persistence targets, their
// existing anchors, HOME's drop zones. Pure helpers; the watching itself is in
// proc-tracer.test.ts.
import { describe, expect, it } from 'vitest';
import { inHomeDropZone, onTargetPath, persistenceTargets, watchAnchors } from '../../../src/tracers/proc/files.js';

const H = '/home/u';

describe('persistenceTargets', () => {
  it('lists the rc files, user units, autostart and CI workflows; system paths only for root', () => {
    const user = persistenceTargets(H, '/p', 'linux', false);
    expect(user).toEqual(expect.arrayContaining([
      { path: `${H}/.bashrc`, recursive: false },
      { path: `${H}/.ssh/authorized_keys`, recursive: false },
      { path: `${H}/.config/systemd/user`, recursive: true },
      { path: `${H}/.config/autostart`, recursive: true },
      { path: '/p/.github/workflows', recursive: true },
      { path: '/var/spool/cron', recursive: true },
    ]));
    expect(user.some((t) => t.path.startsWith('/etc/'))).toBe(false);
    expect(persistenceTargets(H, '/p', 'linux', true).some((t) => t.path === '/etc/cron.d')).toBe(true);
    expect(persistenceTargets(H, '/p', 'darwin', false).some((t) => t.path === `${H}/Library/LaunchAgents`)).toBe(true);
  });
});

describe('watchAnchors', () => {
  it("watches each target from its nearest existing folder, never from '/', nested anchors folded", () => {
    const existing = new Set(['/', H, `${H}/.config`, '/p', '/p/.github']);
    const targets = [
      { path: `${H}/.bashrc`, recursive: false },
      { path: `${H}/.config/systemd/user`, recursive: true },
      { path: '/p/.github/workflows', recursive: true },
      { path: '/var/spool/cron', recursive: true },
    ];
    expect(watchAnchors(targets, (p) => existing.has(p))).toEqual(['/home/u', '/p/.github']);
  });
});

describe('onTargetPath', () => {
  const targets = [{ path: `${H}/.bashrc`, recursive: false }, { path: `${H}/.config/systemd/user`, recursive: true }];
  it('lets through the targets, what is inside recursive ones, and the folders on the way', () => {
    for (const p of [H, `${H}/.bashrc`, `${H}/.config`, `${H}/.config/systemd`, `${H}/.config/systemd/user/a.service`]) expect(onTargetPath(p, targets), p).toBe(true);
    for (const p of [`${H}/.bashrc.bak`, `${H}/.config/gh`, `${H}/src`, '/etc']) expect(onTargetPath(p, targets), p).toBe(false);
  });
});

describe('inHomeDropZone', () => {
  it('watches new hidden folders and the known drop zones a level or two deep', () => {
    for (const p of [H, `${H}/.x`, `${H}/.x/stage2`, `${H}/.config/evil`, `${H}/.config/evil/run.sh`, `${H}/.local/share/x/stage2`, `${H}/.local/bin/x`, `${H}/.bun/bin/bun`, `${H}/.cache/x`]) expect(inHomeDropZone(p, H), p).toBe(true);
  });
  it('leaves alone visible folders, deep trees, caches and toolchains', () => {
    for (const p of [`${H}/src`, `${H}/.x/a/b`, `${H}/.npm/_cacache`, `${H}/.nvm/versions`, `${H}/.config/a/b/c`, `${H}/.cache/puppeteer/chrome`, `${H}/.local/share/a/b/c`, '/home/other/.x', `${H}x/.y`]) expect(inHomeDropZone(p, H), p).toBe(false);
  });
});
