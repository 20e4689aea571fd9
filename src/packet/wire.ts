/**
 * Wire length: how many bytes a packet costs on the link, which is what rates are accounted in.
 *
 * sluice sees IP packets, but the link carries frames: on Ethernet every IP packet also costs a
 * 14-byte header, a 4-byte FCS, an 8-byte preamble and a 12-byte inter-frame gap (38 bytes), and a
 * frame is never shorter than 84 bytes on the wire (64-byte minimum frame + preamble + gap). A shaper
 * that counts IP bytes alone lets small packets (ACKs, VoIP, games) overrun the link by up to 3x and
 * builds a queue in the modem, where it can no longer be managed. So each link is configured with an
 * `overhead` (bytes added to every packet) and an `mpu` (minimum packet unit: the least a packet can
 * cost), exactly as CAKE's `overhead`/`mpu` keywords and tc-stab's `overhead`/`mpu` do:
 *
 *     wireBytes = max(ipBytes + overheadBytes, mpuBytes)
 *
 * Typical figures (IP packet in, bytes on the wire out):
 *   Ethernet:                 overhead 38, mpu 84     (CAKE `ethernet`)
 *   Ethernet with 802.1Q:     overhead 42, mpu 84     (CAKE `ethernet ether-vlan`)
 *   PPPoE over Ethernet:      overhead 46, mpu 84     (adds PPPoE 6 + PPP 2)
 *   No link-layer accounting: overhead 0,  mpu 0
 * A negative overhead is allowed (to cancel headers a device counts but does not send); the result is
 * never below 0, so a misconfigured link can never credit a token bucket. ATM cell padding (CAKE's
 * `atm`) is not modelled.
 */

/** Per-packet overhead of untagged Ethernet: header 14 + FCS 4 + preamble 8 + inter-frame gap 12, bytes. */
export const ETHERNET_OVERHEAD_BYTES = 38;
/** Least an Ethernet frame costs on the wire: 64-byte minimum frame + preamble 8 + gap 12, bytes. */
export const ETHERNET_MPU_BYTES = 84;

/**
 * Bytes a packet of `ipBytes` IP bytes costs on the wire: max(ipBytes + overheadBytes, mpuBytes, 0).
 * Called per packet: pure arithmetic, no allocation.
 */
export function wireBytes(ipBytes: number, overheadBytes: number, mpuBytes: number): number {
  const framedBytes = ipBytes + overheadBytes;
  const bytes = framedBytes > mpuBytes ? framedBytes : mpuBytes;
  return bytes > 0 ? bytes : 0;
}
