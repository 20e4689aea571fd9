/**
 * SSH: each side opens with an identification line "SSH-protoversion-softwareversion" (RFC 4253
 * section 4.2); protoversion is 2.0, or 1.99 for servers that also speak version 1.
 */
import { ascii, matchPrefix, MATCH, PARTIAL } from './bytes.js';
import { L7Result, L7Verdict } from './types.js';

const BANNERS = [ascii('SSH-2.0-'), ascii('SSH-1.99-')];

export function detectSsh(buf: Buffer, offset: number, length: number, out: L7Result): L7Verdict {
  let partial = false;
  for (let i = 0; i < BANNERS.length; i++) {
    const r = matchPrefix(buf, offset, length, BANNERS[i]);
    if (r === MATCH) {
      out.protocol = 'ssh';
      return L7Verdict.DECIDED;
    }
    if (r === PARTIAL) partial = true;
  }
  return partial ? L7Verdict.NEED_MORE : L7Verdict.UNKNOWN;
}
