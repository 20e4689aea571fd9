/**
 * IP addresses between text and bytes: parseAddress for configuration, tests and the packet builder,
 * formatAddress for display (`sluice flows`, the dashboard, logs). Neither is on the packet path: they
 * allocate freely.
 *
 * Accepted text: dotted-quad IPv4 ("192.0.2.1": four decimal parts 0..255, no leading zeros, since
 * inet_aton would read "010" as octal) and IPv6 (RFC 4291 section 2.2: eight groups of 1..4 hex
 * digits, one "::" for one or more zero groups, an optional dotted IPv4 tail such as
 * "::ffff:192.0.2.1"). Zone indexes ("fe80::1%eth0") and prefixes ("/64") are rejected.
 * Output: IPv4 dotted quad; IPv6 in RFC 5952 canonical form (lower case, no leading zeros, the longest
 * run of two or more zero groups — the first on a tie — shortened to "::"), with IPv4-mapped addresses
 * written "::ffff:192.0.2.1" (RFC 5952 section 5).
 */

/** Parses IPv4 or IPv6 text into 4 or 16 network-order bytes; null when it is not an address. */
export function parseAddress(text: string): Buffer | null {
  if (text.includes(':')) return parseIpv6(text);
  const bytes = Buffer.alloc(4);
  return parseIpv4Into(text, bytes, 0) ? bytes : null;
}

/** Formats the 4- or 16-byte address at buf[offset] as text (see the header for the forms). */
export function formatAddress(buf: Buffer, offset: number, len: 4 | 16): string {
  if (len === 4) return formatIpv4(buf, offset);
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((buf[offset + 2 * i] << 8) | buf[offset + 2 * i + 1]);
  if (isIpv4Mapped(groups)) return `::ffff:${formatIpv4(buf, offset + 12)}`;

  let bestStart = -1;
  let bestLen = 1; // a single zero group is never shortened
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function isIpv4Mapped(groups: number[]): boolean {
  for (let i = 0; i < 5; i++) if (groups[i] !== 0) return false;
  return groups[5] === 0xffff;
}

function formatIpv4(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** Parses dotted-quad text into out[offset..offset+4); false when malformed. */
function parseIpv4Into(text: string, out: Buffer, offset: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return false;
    const value = Number(part);
    if (value > 255) return false;
    out[offset + i] = value;
  }
  return true;
}

function parseIpv6(text: string): Buffer | null {
  const bytes = Buffer.alloc(16);
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return null;
  const head = gap >= 0 ? text.slice(0, gap) : text;
  const tail = gap >= 0 ? text.slice(gap + 2) : '';
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  // The dotted IPv4 tail, if any, is the last group written and stands for two groups.
  const last = gap >= 0 ? tailGroups : headGroups;
  let v4Tail = false;
  if (last.length > 0 && last[last.length - 1].includes('.')) {
    if (!parseIpv4Into(last.pop() as string, bytes, 12)) return null;
    v4Tail = true;
  }
  const groupCount = headGroups.length + tailGroups.length + (v4Tail ? 2 : 0);
  if (gap >= 0 ? groupCount > 7 : groupCount !== 8) return null;
  for (let i = 0; i < headGroups.length; i++) {
    if (!writeGroup(headGroups[i], bytes, 2 * i)) return null;
  }
  const tailStart = 8 - tailGroups.length - (v4Tail ? 2 : 0);
  for (let i = 0; i < tailGroups.length; i++) {
    if (!writeGroup(tailGroups[i], bytes, 2 * (tailStart + i))) return null;
  }
  return bytes;
}

function writeGroup(group: string, out: Buffer, offset: number): boolean {
  if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return false;
  const value = parseInt(group, 16);
  out[offset] = value >> 8;
  out[offset + 1] = value & 0xff;
  return true;
}
