/**
 * errno values (Linux; x86_64 and arm64 share them) and their names, shared by the libc layer
 * (ffi/), whose calls return -errno, and the netlink codec (nfqueue/), whose NLMSG_ERRORs carry one.
 * Pure: no libc needed. Names are built only when an error is reported, never per packet.
 * test/datapath/ffi/libc.test.ts checks these numbers against koffi.os.errno.
 */
import { constants } from 'node:os';

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENOSYS = 38;
export const EBADMSG = 74;
export const EMSGSIZE = 90;
export const EPROTONOSUPPORT = 93;
export const EOPNOTSUPP = 95;
export const EAFNOSUPPORT = 97;
export const EADDRINUSE = 98;
export const ENOBUFS = 105;
export const ECONNREFUSED = 111;

let names: Map<number, string> | null = null;

/** The symbolic name of an errno (positive or negated), e.g. 'EBUSY'; 'errno N' when unknown. */
export function errnoName(errno: number): string {
  if (names === null) {
    names = new Map();
    for (const [name, value] of Object.entries(constants.errno)) if (!names.has(value)) names.set(value, name);
    // Linux gives ENOTSUP and EOPNOTSUPP one number; the kernel speaks of the latter.
    names.set(EOPNOTSUPP, 'EOPNOTSUPP');
  }
  const e = Math.abs(errno);
  return names.get(e) ?? `errno ${e}`;
}
