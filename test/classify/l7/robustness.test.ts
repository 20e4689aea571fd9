import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detect, entropyBits, L7Result, L7Verdict, L7_MAX_PACKETS } from '../../../src/classify/l7/index.js';
import type { L7Protocol } from '../../../src/classify/l7/index.js';
import {
  bittorrentHandshake,
  clientHelloRecord,
  dhtPing,
  dnsQuery,
  httpRequest,
  rng,
  sshBanner,
  stunBindingRequest,
  utpOpening,
} from './payloads.js';
import { RFC9001_CLIENT_INITIAL } from './rfc9001.js';

const PROTOCOLS = new Set<L7Protocol>(['http', 'tls', 'quic', 'ssh', 'dns', 'bittorrent', 'stun', 'rtp', 'unknown']);
const out = new L7Result();

function check(buf: Buffer, offset: number, length: number, proto: 6 | 17, fromInitiator: boolean, what: string): void {
  const v = detect(buf, offset, length, proto, fromInitiator, out);
  assert.ok(v === L7Verdict.DECIDED || v === L7Verdict.NEED_MORE || v === L7Verdict.UNKNOWN, what);
  assert.ok(PROTOCOLS.has(out.protocol), what);
  if (v === L7Verdict.UNKNOWN) assert.equal(out.protocol, 'unknown', what);
  assert.equal(typeof out.host, 'string');
}

test('random bytes at random lengths and offsets never throw and always answer within the contract', () => {
  const next = rng(0xc0ffee);
  const buf = Buffer.alloc(2100);
  for (let i = 0; i < 20_000; i++) {
    const len = next() % (i % 10 === 0 ? 2048 : 80);
    for (let j = 0; j < len + 8; j++) buf[j] = next() & 0xff;
    // Some cases start with a signature byte so the deeper parsers are reached.
    if (i % 4 === 1) buf[4] = [0x16, 0xc0, 0x64, 0x13, 0x47, 0x53, 0x80, 0x41][next() % 8];
    check(buf, 4, len, i & 1 ? 6 : 17, (i & 2) === 0, `case ${i} len ${len}`);
    assert.ok(entropyBits(buf, 4, len) >= 0);
  }
  check(buf, 2099, 500, 6, true, 'range past the end');
  check(buf, 5000, 10, 17, true, 'offset past the end');
  check(buf, -1, 10, 17, true, 'negative offset');
});

test('every valid payload, truncated at every length and with random bytes flipped, never throws', () => {
  const next = rng(42);
  const samples: [Buffer, 6 | 17][] = [
    [httpRequest('GET', 'example.com'), 6],
    [clientHelloRecord('example.com', 100), 6],
    [sshBanner(), 6],
    [bittorrentHandshake(), 6],
    [dnsQuery('example.com', true), 17],
    [dhtPing(), 17],
    [utpOpening(true), 17],
    [stunBindingRequest(), 17],
    [RFC9001_CLIENT_INITIAL, 17],
  ];
  let cases = 0;
  for (const [sample, proto] of samples) {
    for (let len = 0; len <= sample.length; len++) {
      const copy = Buffer.from(sample.subarray(0, len));
      check(copy, 0, len, proto, true, `truncated ${len}`);
      for (let k = 0; k < 3 && len > 0; k++) copy[next() % len] = next() & 0xff;
      check(copy, 0, len, proto, true, `mutated ${len}`);
      cases += 2;
    }
  }
  assert.ok(cases > 3000, `${cases} cases`);
});

/** What a flow settles on after offering up to L7_MAX_PACKETS random packets of one direction. */
function settleRandomFlow(next: () => number, proto: 6 | 17, buf: Buffer): L7Protocol {
  let streamLen = 0;
  for (let p = 0; p < L7_MAX_PACKETS; p++) {
    const len = 20 + (next() % 480);
    const start = proto === 6 ? streamLen : 0; // TCP offers the growing stream prefix
    for (let j = start; j < start + len; j++) buf[j] = next() & 0xff;
    streamLen = start + len;
    const v = detect(buf, 0, streamLen, proto, p % 2 === 0, out);
    if (v === L7Verdict.DECIDED) return out.protocol;
  }
  return out.protocol;
}

test('random payloads settle as unknown after the bound, with a low false-positive rate', () => {
  const next = rng(7);
  const buf = Buffer.alloc(2048);
  const FLOWS = 5000;
  for (const proto of [6, 17] as const) {
    const wrong = new Map<string, number>();
    for (let f = 0; f < FLOWS; f++) {
      const p = settleRandomFlow(next, proto, buf);
      if (p !== 'unknown') wrong.set(p, (wrong.get(p) ?? 0) + 1);
    }
    const total = [...wrong.values()].reduce((a, b) => a + b, 0);
    // TCP signatures are several fixed bytes long; UDP's weakest (rtp) passes ~1 packet in 400.
    const limit = proto === 6 ? 0.001 : 0.02;
    assert.ok(total / FLOWS <= limit, `proto ${proto}: ${total} of ${FLOWS} random flows labelled ${JSON.stringify([...wrong])}`);
  }
});
