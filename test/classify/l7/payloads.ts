/**
 * Payload builders for the l7 tests and benchmark: each message is assembled field by field from
 * its specification, so the tests exercise the detectors against structure, not captured bytes.
 */

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function u24(n: number): number[] {
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function bytes(text: string): number[] {
  return Array.from(Buffer.from(text, 'latin1'));
}

export function httpRequest(method: string, host: string): Buffer {
  return Buffer.from(`${method} /index.html HTTP/1.1\r\nUser-Agent: test/1.0\r\nhOsT:  ${host}\r\nAccept: */*\r\n\r\n`, 'latin1');
}

export function httpResponse(): Buffer {
  return Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 'latin1');
}

/** An extension: 2-byte type, 2-byte length, data. */
function extension(type: number, data: number[]): number[] {
  return [...u16(type), ...u16(data.length), ...data];
}

/**
 * A TLS 1.3-style ClientHello handshake message (type 1) with the server_name extension (when
 * `sni` is given) placed after `paddingBefore` bytes of other extensions, as a browser's list would.
 */
export function clientHelloMessage(sni: string | null, paddingBefore = 0): Buffer {
  const random = Array.from({ length: 32 }, (_, i) => i);
  const sessionId = Array.from({ length: 32 }, (_, i) => 0xa0 + (i & 0x0f));
  const suites = [0x13, 0x01, 0x13, 0x02, 0x13, 0x03];
  const exts: number[] = [];
  exts.push(...extension(0x000a, [...u16(4), 0x00, 0x1d, 0x00, 0x17])); // supported_groups
  if (paddingBefore > 0) exts.push(...extension(0x0015, new Array<number>(paddingBefore).fill(0))); // padding
  if (sni !== null) {
    const name = bytes(sni);
    const entry = [0x00, ...u16(name.length), ...name];
    exts.push(...extension(0x0000, [...u16(entry.length), ...entry]));
  }
  exts.push(...extension(0x002b, [2, 0x03, 0x04])); // supported_versions
  const body = [0x03, 0x03, ...random, sessionId.length, ...sessionId, ...u16(suites.length), ...suites, 1, 0, ...u16(exts.length), ...exts];
  return Buffer.from([0x01, ...u24(body.length), ...body]);
}

/** The ClientHello in one TLS handshake record. */
export function clientHelloRecord(sni: string | null, paddingBefore = 0): Buffer {
  const msg = clientHelloMessage(sni, paddingBefore);
  return Buffer.concat([Buffer.from([22, 3, 1, ...u16(msg.length)]), msg]);
}

export function sshBanner(): Buffer {
  return Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n', 'latin1');
}

/** A standard query for `name` (type A, class IN), optionally with an EDNS OPT record. */
export function dnsQuery(name: string, edns = false): Buffer {
  const qname: number[] = [];
  for (const label of name.split('.')) qname.push(label.length, ...bytes(label));
  qname.push(0);
  const header = [...u16(0x1234), ...u16(0x0100), ...u16(1), ...u16(0), ...u16(0), ...u16(edns ? 1 : 0)];
  const opt = edns ? [0, ...u16(41), ...u16(1232), 0, 0, 0, 0, ...u16(0)] : [];
  return Buffer.from([...header, ...qname, ...u16(1), ...u16(1), ...opt]);
}

export function bittorrentHandshake(): Buffer {
  const infoHash = Array.from({ length: 20 }, (_, i) => i * 7);
  const peerId = bytes('-TR4060-abcdefghijkl');
  return Buffer.from([19, ...bytes('BitTorrent protocol'), 0, 0, 0, 0, 0, 0x10, 0, 0x05, ...infoHash, ...peerId]);
}

/** A DHT ping query (BEP 5) with a 20-byte node id. */
export function dhtPing(): Buffer {
  return Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe', 'latin1');
}

/** A uTP ST_SYN (initiator) or ST_STATE (responder) header with no payload. */
export function utpOpening(fromInitiator: boolean): Buffer {
  const b = Buffer.alloc(20);
  b[0] = ((fromInitiator ? 4 : 2) << 4) | 1;
  b.writeUInt16BE(0x3039, 2);
  b.writeUInt32BE(123456789, 4);
  b.writeUInt32BE(fromInitiator ? 0 : 5000, 8);
  b.writeUInt32BE(1048576, 12);
  b.writeUInt16BE(1, 16);
  return b;
}

/** A STUN Binding request (RFC 8489) with one SOFTWARE attribute. */
export function stunBindingRequest(): Buffer {
  const software = bytes('test'); // 4 bytes: no padding needed
  const attrs = [...u16(0x8022), ...u16(software.length), ...software];
  const txid = Array.from({ length: 12 }, (_, i) => 0x40 + i);
  return Buffer.from([...u16(0x0001), ...u16(attrs.length), 0x21, 0x12, 0xa4, 0x42, ...txid, ...attrs]);
}

/** An RTP packet: version 2, payload type 111 (Opus), 160 payload bytes. */
export function rtpPacket(): Buffer {
  const b = Buffer.alloc(12 + 160, 0x55);
  b[0] = 0x80;
  b[1] = 111;
  b.writeUInt16BE(4242, 2);
  b.writeUInt32BE(960, 4);
  b.writeUInt32BE(0xdeadbeef, 8);
  return b;
}

/** Deterministic 32-bit generator for fuzzing (same sequence every run). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}
