/**
 * libc's own words for an errno, for one-line error reports at setup (never per packet). The numbers
 * and names are in ../errno.ts.
 */
import { errnoName } from '../errno.js';
import { strerror } from './libc.js';

/** "Device or resource busy (EBUSY)": libc's message and the name, for one-line error reports. */
export function describeErrno(errno: number): string {
  const e = Math.abs(errno);
  return `${strerror(e)} (${errnoName(e)})`;
}
