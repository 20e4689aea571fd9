/**
 * sd_notify without libsystemd: the state lines reach a Unix datagram socket like systemd's, at a
 * path or an abstract name; outside systemd nothing is sent; a socket that is not there is one line.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as libc from '../../src/datapath/ffi/libc.js';
import { sdNotify, unixAddress } from '../../src/control/sd-notify.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-notify-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A datagram socket standing in for systemd's, and what it received. */
function listener(path: string): { received(): string; close(): void } {
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_DGRAM | libc.SOCK_CLOEXEC, 0);
  assert.ok(fd >= 0);
  assert.equal(libc.bind(fd, unixAddress(path)), 0);
  const buf = Buffer.alloc(512);
  return {
    received: () => {
      const n = libc.recv(fd, buf, buf.length, libc.MSG_DONTWAIT);
      return n < 0 ? '' : buf.toString('utf8', 0, n);
    },
    close: () => void libc.close(fd),
  };
}

test('READY=1 and a status line reach the socket systemd named, a path or an abstract name', () => {
  for (const path of [join(dir, 'notify'), `@sluice-notify-test-${process.pid}`]) {
    const systemd = listener(path);
    try {
      assert.equal(sdNotify('READY=1\nSTATUS=shaping eth0', path), null);
      assert.equal(systemd.received(), 'READY=1\nSTATUS=shaping eth0');
    } finally {
      systemd.close();
    }
  }
});

test('outside systemd nothing is sent; a socket that is not there is one line', () => {
  assert.equal(sdNotify('READY=1', undefined), null);
  assert.match(sdNotify('READY=1', join(dir, 'nobody')) ?? '', /^sd_notify: \S+nobody: .*\(ENOENT\)$/);
});
