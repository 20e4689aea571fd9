/**
 * systemd's readiness protocol (sd_notify(3)) without libsystemd: under a unit of Type=notify,
 * systemd passes NOTIFY_SOCKET, a Unix datagram socket (a path, or an abstract name written with a
 * leading '@'), and the daemon sends it lines such as READY=1 once it really shapes — queue bound,
 * rules in — so `systemctl start` returns only then, and RELOADING=1 / STOPPING=1 around the rest.
 * Outside systemd (no NOTIFY_SOCKET) nothing is sent.
 */
import * as libc from '../datapath/ffi/libc.js';
import { describeErrno } from '../datapath/ffi/errno.js';

const SUN_PATH_BYTES = 108;

/** A sockaddr_un for `path` ('@name': abstract), sized to what it holds. */
export function unixAddress(path: string): Buffer {
  const name = Buffer.from(path.startsWith('@') ? `\0${path.slice(1)}` : path);
  if (name.length >= SUN_PATH_BYTES) throw new Error(`socket path too long: ${path}`);
  const addr = Buffer.alloc(2 + name.length + (path.startsWith('@') ? 0 : 1));
  addr.writeUInt16LE(libc.AF_UNIX, 0);
  name.copy(addr, 2);
  return addr;
}

/** Sends `state` (lines KEY=VALUE) to systemd: null when sent or not under systemd, else why not, one line. */
export function sdNotify(state: string, notifySocket: string | undefined = process.env.NOTIFY_SOCKET): string | null {
  if (notifySocket === undefined || notifySocket === '') return null;
  const fd = libc.socket(libc.AF_UNIX, libc.SOCK_DGRAM | libc.SOCK_CLOEXEC, 0);
  if (fd < 0) return `sd_notify: socket: ${describeErrno(fd)}`;
  try {
    const c = libc.connect(fd, unixAddress(notifySocket));
    if (c < 0) return `sd_notify: ${notifySocket}: ${describeErrno(c)}`;
    const msg = Buffer.from(state);
    const s = libc.send(fd, msg, msg.length, 0);
    return s < 0 ? `sd_notify: ${notifySocket}: ${describeErrno(s)}` : null;
  } finally {
    libc.close(fd);
  }
}
