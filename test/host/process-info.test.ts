/**
 * What a process is, from /proc (a fake one, and this process's own entry): cmd is argv[0]'s base
 * name, or the kernel's short name without argv; args, exe, the cgroup v2 path and the systemd unit
 * in it; user and group names from passwd and group files read once; a vanished pid is null.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readProcess, readProcessUid, unitOf } from '../../src/host/process-info.js';
import { UserNames } from '../../src/host/user-names.js';
import { FakeProc } from './fake-proc.js';

const proc = new FakeProc();
const etc = mkdtempSync(join(tmpdir(), 'sluice-etc-'));
after(() => {
  proc.destroy();
  rmSync(etc, { recursive: true, force: true });
});

function names(): UserNames {
  writeFileSync(join(etc, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n# comment\nfred:x:1000:1000::/home/fred:/bin/sh\nfred2:x:1000:1000::/:/bin/sh\nbroken\n');
  writeFileSync(join(etc, 'group'), 'root:x:0:\nusers:x:100:fred\nfred:x:1000:\n');
  return new UserNames(join(etc, 'passwd'), join(etc, 'group'));
}

test('unitOf takes the last .service or .scope component of a cgroup path', () => {
  assert.equal(unitOf('/system.slice/transmission-daemon.service'), 'transmission-daemon.service');
  assert.equal(unitOf('/user.slice/user-1000.slice/user@1000.service/app.slice/app-firefox-123.scope'), 'app-firefox-123.scope');
  assert.equal(unitOf('/user.slice/user-1000.slice/user@1000.service/app.slice'), 'user@1000.service');
  assert.equal(unitOf('/'), '');
  assert.equal(unitOf(''), '');
  assert.equal(unitOf('/docker/abc'), '');
});

test('a process\'s attributes from its /proc entry', () => {
  proc.add(4321, {
    uid: 1000,
    gid: 100,
    name: 'transmission-da',
    argv: ['/usr/bin/transmission-daemon', '-f', '--log-error'],
    cgroup: '/system.slice/transmission-daemon.service',
    exe: '/usr/bin/transmission-daemon',
  });
  const p = readProcess(4321, names(), proc.root);
  assert.deepEqual(p, {
    pid: 4321,
    uid: 1000,
    gid: 100,
    user: 'fred',
    group: 'users',
    cmd: 'transmission-daemon',
    exe: '/usr/bin/transmission-daemon',
    argv: ['/usr/bin/transmission-daemon', '-f', '--log-error'],
    args: '-f --log-error',
    cgroup: '/system.slice/transmission-daemon.service',
    unit: 'transmission-daemon.service',
  });
  assert.equal(readProcessUid(4321, proc.root), 1000);
});

test('without argv, exe or cgroup v2: the kernel\'s name and empty strings; unnamed ids are ""', () => {
  proc.add(77, { uid: 65533, name: 'kworker/0:1' });
  const p = readProcess(77, names(), proc.root);
  assert.ok(p !== null);
  assert.deepEqual([p.cmd, p.exe, p.args, p.argv.length, p.cgroup, p.unit, p.user, p.group], ['kworker/0:1', '', '', 0, '', '', '', '']);
});

test('a vanished pid is null, never an exception', () => {
  proc.remove(99);
  assert.equal(readProcess(99, names(), proc.root), null);
  assert.equal(readProcessUid(99, proc.root), -1);
});

test('this process, from the real /proc', () => {
  const p = readProcess(process.pid, new UserNames());
  assert.ok(p !== null);
  assert.equal(p.pid, process.pid);
  assert.equal(p.uid, process.geteuid?.());
  assert.equal(p.exe, realpathSync(process.execPath));
  assert.equal(p.argv.length, readFileSync('/proc/self/cmdline', 'utf8').split('\0').length - 1);
});

test('user and group files are read once, until reload()', () => {
  const n = names();
  assert.equal(n.user(1000), 'fred', 'the first entry for a number wins');
  assert.equal(n.user(0), 'root');
  assert.equal(n.group(100), 'users');
  writeFileSync(join(etc, 'passwd'), 'wilma:x:1000:1000::/:/bin/sh\n');
  assert.equal(n.user(1000), 'fred', 'cached');
  n.reload();
  assert.equal(n.user(1000), 'wilma');
  assert.equal(new UserNames(join(etc, 'missing'), join(etc, 'missing')).user(0), '', 'a missing file names nobody');
});
