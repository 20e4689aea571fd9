/**
 * CIDR strings for iptables, in the exact form `iptables -S` prints them back: network address with
 * host bits cleared, always a /prefix, IPv6 compressed the way glibc's inet_ntop does (longest run
 * of two or more zero groups becomes "::", lowercase, ::ffff:a.b.c.d and ::a.b.c.d keep their
 * dotted tail). Pure; used when planning, so a read-back compares token for token.
 */
import { FirewallError } from './errors.js';
import type { IpFamily } from './types.js';

export interface Cidr {
  family: IpFamily;
  /** Canonical "address/prefix". */
  text: string;
}

export function parseCidr(input: string): Cidr {
  const slash = input.indexOf('/');
  const addr = slash < 0 ? input : input.slice(0, slash);
  const lenText = slash < 0 ? null : input.slice(slash + 1);
  const bytes = addr.includes(':') ? parseIpv6(addr) : parseIpv4(addr);
  if (!bytes) throw new FirewallError('invalid', `"${input}" is not an IPv4 or IPv6 address or prefix`);
  const maxLen = bytes.length * 8;
  const prefixLen = lenText === null ? maxLen : /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
  if (!(prefixLen >= 0 && prefixLen <= maxLen)) {
    throw new FirewallError('invalid', `"${input}": prefix length must be 0 to ${maxLen}`);
  }
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefixLen - i * 8));
    bytes[i] &= (0xff00 >> keep) & 0xff;
  }
  const family: IpFamily = bytes.length === 4 ? 'ipv4' : 'ipv6';
  return { family, text: `${family === 'ipv4' ? formatIpv4(bytes) : formatIpv6(bytes)}/${prefixLen}` };
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

function parseIpv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1].split(':')) : [];
  const words: number[] = [];
  const toWords = (parts: string[]): number[] | null => {
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return null;
        out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  if (halves.length === 2) {
    const h = toWords(head);
    const t = toWords(tail);
    if (!h || !t || h.length + t.length > 7) return null;
    words.push(...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t);
  } else {
    const all = toWords(head);
    if (!all || all.length !== 8) return null;
    words.push(...all);
  }
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

function formatIpv4(b: readonly number[], offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

/** glibc inet_ntop6, step for step. */
function formatIpv6(b: readonly number[]): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i] << 8) | b[i + 1]);
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += formatIpv4(b, 12);
      break;
    }
    out += words[i].toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}
