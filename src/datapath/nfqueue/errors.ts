/**
 * Turns an errno from the nfnetlink_queue socket (an NLMSG_ERROR, or a failed syscall on the socket)
 * into one line a person can act on. The cases follow what the kernel's nfnetlink_queue returns:
 * EPERM when binding a queue another socket holds (measured on this kernel: EBUSY only when the
 * holder binds it again) or without CAP_NET_ADMIN, and when configuring a queue another socket holds; ENODEV for a queue this socket has not bound, ENOENT for a verdict on a
 * packet id the kernel no longer holds, EOPNOTSUPP for a flag this kernel lacks. Called on error
 * paths only (it builds strings).
 */
import { EAFNOSUPPORT, EBUSY, EINVAL, ENOBUFS, ENODEV, ENOENT, ENOMEM, EOPNOTSUPP, EPERM, EPROTONOSUPPORT, errnoName } from '../errno.js';

/** What was being done when the error came back: the queue, and an operation such as "bind" or "verdict". */
export interface NetlinkErrorContext {
  queueNum: number;
  operation: string;
}

export function describeNetlinkError(errno: number, context: NetlinkErrorContext): string {
  const q = context.queueNum;
  const op = context.operation;
  const isBind = op === 'bind';
  switch (errno) {
    case EBUSY:
      return isBind
        ? `queue ${q} is already bound by another process (stop it, or choose another queue number)`
        : `queue ${q}: ${op} failed: the queue is busy (held by another process)`;
    case EPERM:
      return isBind
        ? `queue ${q}: bind not permitted: another process may hold queue ${q} (stop it, or choose another queue number), or sluice is not running as root (it needs CAP_NET_ADMIN)`
        : `queue ${q}: ${op} not permitted: run sluice as root (it needs CAP_NET_ADMIN), and check that no other process has bound queue ${q}`;
    case ENODEV:
      return `queue ${q}: ${op} failed: this socket has not bound queue ${q} (bind it first; another process may have unbound it)`;
    case ENOENT:
      return op === 'verdict'
        ? `queue ${q}: verdict for a packet the kernel no longer holds (already given a verdict, or the queue was unbound)`
        : `queue ${q}: ${op} failed: not found (is nfnetlink_queue available in this kernel?)`;
    case EINVAL:
      return `queue ${q}: the kernel rejected ${op} as invalid (a malformed message or a value out of range: a sluice bug, please report it)`;
    case EOPNOTSUPP:
      return `queue ${q}: ${op} is not supported by this kernel (turn off the option that needs it, e.g. a queue flag this kernel lacks)`;
    case ENOBUFS:
      return `queue ${q}: the socket receive buffer overflowed and messages were lost (raise the receive buffer size, or set NETLINK_NO_ENOBUFS)`;
    case ENOMEM:
      return `queue ${q}: ${op} failed: the kernel is out of memory`;
    case EPROTONOSUPPORT:
    case EAFNOSUPPORT:
      return `queue ${q}: ${op} failed: this kernel has no netfilter netlink support (it needs CONFIG_NETFILTER_NETLINK_QUEUE)`;
    default: {
      const name = errnoName(errno);
      return `queue ${q}: ${op} failed: error ${errno}${name.startsWith('errno') ? '' : ` (${name})`}`;
    }
  }
}
