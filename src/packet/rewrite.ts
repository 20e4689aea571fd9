/**
 * In-place header rewrites the shaper makes when it releases a packet: mark Congestion Experienced
 * (CoDel with ECN, RFC 3168 / RFC 8289) and set a class's DSCP (e.g. EF for interactive traffic).
 *
 * Both touch only the byte(s) holding the IPv4 TOS / IPv6 traffic class. IPv4 carries a header
 * checksum over those bytes, which is patched incrementally (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m'),
 * one's complement arithmetic on the 16-bit word that changed) instead of recomputed, as the kernel's
 * IP_ECN_set_ce and ipv4_change_dsfield do. IPv6 has no header checksum, and the transport checksums
 * do not cover these bits, so nothing else changes. Per packet: a few byte reads and writes, no
 * allocation. Callers pass the offset of a packet that parsePacket accepted.
 */

/** ECN codepoints (the low two bits of TOS / traffic class, RFC 3168). */
export const ECN_NOT_ECT = 0;
export const ECN_ECT1 = 1;
export const ECN_ECT0 = 2;
export const ECN_CE = 3;

/**
 * Marks the packet at buf[ipOffset] Congestion Experienced. Returns true when the packet is
 * ECN-capable: ECT(0) or ECT(1) become CE (checksum patched for IPv4), and a packet already CE is left
 * as it is (it already carries the signal). Returns false, changing nothing, for Not-ECT packets
 * (which must be dropped instead) and for anything that is not IPv4 or IPv6.
 */
export function setEcnCE(buf: Buffer, ipOffset: number): boolean {
  const version = buf[ipOffset] >> 4;
  if (version === 4) {
    const tos = buf[ipOffset + 1];
    const ecn = tos & 3;
    if (ecn === ECN_NOT_ECT) return false;
    if (ecn === ECN_CE) return true;
    const newTos = tos | ECN_CE;
    buf[ipOffset + 1] = newTos;
    patchIpv4Checksum(buf, ipOffset, tos, newTos);
    return true;
  }
  if (version === 6) {
    // ECN is bits 5..4 of byte 1 (the low two bits of the traffic class).
    const b1 = buf[ipOffset + 1];
    const ecn = (b1 >> 4) & 3;
    if (ecn === ECN_NOT_ECT) return false;
    buf[ipOffset + 1] = b1 | (ECN_CE << 4);
    return true;
  }
  return false;
}

/**
 * Sets the DSCP (0..63; higher bits ignored) of the packet at buf[ipOffset], keeping its ECN bits.
 * IPv4 checksum patched. Returns whether a byte changed (false when the DSCP was already that, or
 * for anything that is not IPv4 or IPv6).
 */
export function setDscp(buf: Buffer, ipOffset: number, dscp: number): boolean {
  const version = buf[ipOffset] >> 4;
  if (version === 4) {
    const tos = buf[ipOffset + 1];
    const newTos = ((dscp & 0x3f) << 2) | (tos & 3);
    if (newTos === tos) return false;
    buf[ipOffset + 1] = newTos;
    patchIpv4Checksum(buf, ipOffset, tos, newTos);
    return true;
  }
  if (version === 6) {
    // Traffic class = low nibble of byte 0 (DSCP bits 5..2) + high nibble of byte 1 (DSCP 1..0, ECN).
    const b0 = (buf[ipOffset] & 0xf0) | ((dscp & 0x3f) >> 2);
    const b1 = (buf[ipOffset + 1] & 0x3f) | ((dscp & 3) << 6);
    if (b0 === buf[ipOffset] && b1 === buf[ipOffset + 1]) return false;
    buf[ipOffset] = b0;
    buf[ipOffset + 1] = b1;
    return true;
  }
  return false;
}

/**
 * RFC 1624 eqn. 3 for a change of the TOS byte. The 16-bit word m that changed is the header's first:
 * version/IHL in the high byte (unchanged), TOS in the low byte.
 */
function patchIpv4Checksum(buf: Buffer, ipOffset: number, oldTos: number, newTos: number): void {
  const checksum = (buf[ipOffset + 10] << 8) | buf[ipOffset + 11];
  const high = buf[ipOffset] << 8;
  let sum = (~checksum & 0xffff) + (~(high | oldTos) & 0xffff) + (high | newTos);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  const patched = ~sum & 0xffff;
  buf[ipOffset + 10] = patched >> 8;
  buf[ipOffset + 11] = patched & 0xff;
}
