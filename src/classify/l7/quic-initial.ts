/**
 * Opening a QUIC version 1 client Initial packet (RFC 9001 section 5) to read the server name from
 * the ClientHello in its CRYPTO frames. The keys are public by design: derived from the packet's
 * destination connection id with HKDF-SHA256 and the version 1 salt; the payload is AES-128-GCM,
 * the header protection AES-128-ECB over a 16-byte sample of the ciphertext.
 *
 * Cost and allocation: node:crypto allocates (key schedule, cipher objects, the plaintext) — about
 * ten small objects per call. It runs only on a client Initial of a flow whose protocol is still
 * pending, i.e. once or twice per QUIC flow, never per packet of an established flow.
 * Authentication failure is the one exception caught here (node:crypto reports it by throwing).
 *
 * CRYPTO frames of one packet are reassembled (in any order, as Chrome shuffles them) into a
 * preallocated buffer; the ClientHello is read from the contiguous prefix starting at stream offset
 * 0. A ClientHello continued in a second Initial packet is not joined across packets: when its
 * server_name falls there, the flow is 'quic' without a host.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { scanClientHello, HELLO_HOST } from './clienthello.js';
import { readVarint, varintSize } from './varint.js';
import { L7Result } from './types.js';

const SALT_V1 = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');

/** HkdfLabel (RFC 8446 section 7.1, empty context) followed by the HKDF-Expand block counter 1. */
function expandInfo(label: string, length: number): Buffer {
  const full = `tls13 ${label}`;
  const info = Buffer.alloc(2 + 1 + full.length + 1 + 1);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  info.write(full, 3, 'latin1');
  info[3 + full.length] = 0;
  info[4 + full.length] = 1;
  return info;
}
const INFO_CLIENT_IN = expandInfo('client in', 32);
const INFO_KEY = expandInfo('quic key', 16);
const INFO_IV = expandInfo('quic iv', 12);
const INFO_HP = expandInfo('quic hp', 16);

/** HKDF-Expand-Label for outputs of at most one SHA-256 block (32 bytes). */
function expand(secret: Buffer, info: Buffer, length: number): Buffer {
  return createHmac('sha256', secret).update(info).digest().subarray(0, length);
}

export interface InitialKeys {
  key: Buffer;
  iv: Buffer;
  hp: Buffer;
}

/** The client's Initial keys for a destination connection id (RFC 9001 section 5.2). */
export function clientInitialKeys(dcid: Buffer): InitialKeys {
  const initialSecret = createHmac('sha256', SALT_V1).update(dcid).digest();
  const clientSecret = expand(initialSecret, INFO_CLIENT_IN, 32);
  return { key: expand(clientSecret, INFO_KEY, 16), iv: expand(clientSecret, INFO_IV, 12), hp: expand(clientSecret, INFO_HP, 16) };
}

/** Header bytes (unprotected) used as AEAD associated data; a header longer than this is not opened. */
const header = Buffer.alloc(1024);
const nonce = Buffer.alloc(12);
/** CRYPTO stream bytes of one packet, by stream offset; data beyond it is ignored. */
const CRYPTO_BYTES = 4096;
const cryptoStream = Buffer.alloc(CRYPTO_BYTES);
const MAX_FRAMES = 64;
const frameStart = new Int32Array(MAX_FRAMES);
const frameEnd = new Int32Array(MAX_FRAMES);

const FRAME_PADDING = 0x00;
const FRAME_PING = 0x01;
const FRAME_ACK = 0x02;
const FRAME_ACK_ECN = 0x03;
const FRAME_CRYPTO = 0x06;
const TAG_BYTES = 16;
const SAMPLE_BYTES = 16;

/**
 * Opens the Initial packet buf[packetStart, pnOffset + payloadLen) — the caller has parsed the long
 * header — and sets out.host from its ClientHello. Returns false when the packet does not open
 * (wrong keys, tampered, truncated) or holds no server name.
 */
export function readInitialHost(
  buf: Buffer,
  packetStart: number,
  dcidStart: number,
  dcidLen: number,
  pnOffset: number,
  payloadLen: number,
  out: L7Result,
): boolean {
  const packetEnd = pnOffset + payloadLen;
  if (pnOffset + 4 + SAMPLE_BYTES > packetEnd || pnOffset - packetStart + 4 > header.length) return false;
  const keys = clientInitialKeys(buf.subarray(dcidStart, dcidStart + dcidLen));
  const mask = createCipheriv('aes-128-ecb', keys.hp, null)
    .setAutoPadding(false)
    .update(buf.subarray(pnOffset + 4, pnOffset + 4 + SAMPLE_BYTES));
  const first = buf[packetStart] ^ (mask[0] & 0x0f);
  const pnLen = (first & 3) + 1;
  const headerLen = pnOffset - packetStart + pnLen;
  if (pnOffset + pnLen + TAG_BYTES > packetEnd) return false;
  buf.copy(header, 0, packetStart, pnOffset);
  header[0] = first;
  keys.iv.copy(nonce);
  for (let i = 0; i < pnLen; i++) {
    const b = buf[pnOffset + i] ^ mask[1 + i];
    header[pnOffset - packetStart + i] = b;
    nonce[12 - pnLen + i] ^= b;
  }
  const decipher = createDecipheriv('aes-128-gcm', keys.key, nonce);
  decipher.setAAD(header.subarray(0, headerLen));
  decipher.setAuthTag(buf.subarray(packetEnd - TAG_BYTES, packetEnd));
  const plain = decipher.update(buf.subarray(pnOffset + pnLen, packetEnd - TAG_BYTES));
  try {
    decipher.final();
  } catch {
    return false; // not authentic: not a client Initial for this connection id, or corrupted
  }
  const contiguous = gatherCrypto(plain);
  return contiguous > 0 && scanClientHello(cryptoStream, 0, contiguous, out) === HELLO_HOST;
}

/**
 * Walks the frames of a decrypted Initial, copies CRYPTO data into cryptoStream at its stream
 * offset, and returns how many bytes from offset 0 are covered without a gap.
 */
function gatherCrypto(plain: Buffer): number {
  const end = plain.length;
  let frames = 0;
  let p = 0;
  while (p < end) {
    const type = plain[p];
    if (type === FRAME_PADDING || type === FRAME_PING) {
      p++;
      continue;
    }
    if (type === FRAME_CRYPTO) {
      const streamOffset = readVarint(plain, p + 1, end);
      if (streamOffset < 0) break;
      p += 1 + varintSize;
      const dataLen = readVarint(plain, p, end);
      if (dataLen < 0) break;
      p += varintSize;
      if (p + dataLen > end) break;
      if (streamOffset + dataLen <= CRYPTO_BYTES && frames < MAX_FRAMES) {
        plain.copy(cryptoStream, streamOffset, p, p + dataLen);
        frameStart[frames] = streamOffset;
        frameEnd[frames] = streamOffset + dataLen;
        frames++;
      }
      p += dataLen;
      continue;
    }
    if (type === FRAME_ACK || type === FRAME_ACK_ECN) {
      p = skipAck(plain, p + 1, end, type === FRAME_ACK_ECN);
      if (p < 0) break;
      continue;
    }
    break; // CONNECTION_CLOSE or anything else: no more CRYPTO data we can rely on
  }
  // Extend the covered prefix until no frame starts inside it and reaches beyond (frames ≤ 64: ≤ 64² steps).
  let covered = 0;
  let grew = true;
  while (grew) {
    grew = false;
    for (let i = 0; i < frames; i++) {
      if (frameStart[i] <= covered && frameEnd[i] > covered) {
        covered = frameEnd[i];
        grew = true;
      }
    }
  }
  return covered;
}

/** Skips an ACK frame's fields after its type byte; -1 if it runs past `end`. */
function skipAck(buf: Buffer, p: number, end: number, ecn: boolean): number {
  // largest acknowledged, ack delay, range count, first range
  let rangeCount = 0;
  for (let i = 0; i < 4; i++) {
    const v = readVarint(buf, p, end);
    if (v < 0) return -1;
    if (i === 2) rangeCount = v;
    p += varintSize;
  }
  if (rangeCount > end) return -1;
  const fields = rangeCount * 2 + (ecn ? 3 : 0);
  for (let i = 0; i < fields; i++) {
    if (readVarint(buf, p, end) < 0) return -1;
    p += varintSize;
  }
  return p;
}
