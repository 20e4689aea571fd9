/**
 * The one error type of src/host/: a host lookup that cannot work at all (no sock_diag socket, a
 * kernel that rejects the request). `code` is the errno name ('EPERM', 'EINVAL') or 'EBADMSG' for a
 * reply sluice cannot read. A socket or process that is simply not there is not an error: lookups
 * report "not found" / "unknown" instead.
 */
import { errnoName } from '../datapath/errno.js';

export class HostLookupError extends Error {
  readonly code: string;
  readonly errno: number;
  constructor(message: string, errno: number) {
    super(message);
    this.name = 'HostLookupError';
    this.errno = Math.abs(errno);
    this.code = errnoName(errno);
  }
}
