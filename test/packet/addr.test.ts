/** parseAddress / formatAddress: accepted and rejected text, RFC 5952 output, round trips. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import { formatAddress, parseAddress } from '../../src/packet/addr.js';
import { rng } from '../support/rng.js';

function hexOf(text: string): string | null {
  const b = parseAddress(text);
  return b === null ? null : b.toString('hex');
}
function canonical(text: string): string {
  const b = parseAddress(text);
  assert.ok(b, text);
  return formatAddress(b, 0, b.length as 4 | 16);
}

test('IPv4 text: dotted quads accepted, everything else refused', () => {
  assert.equal(hexOf('192.0.2.1'), 'c0000201');
  assert.equal(hexOf('0.0.0.0'), '00000000');
  assert.equal(hexOf('255.255.255.255'), 'ffffffff');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-4', '01.2.3.4', '1.2.3.4 ', ' 1.2.3.4', '1..3.4', 'a.b.c.d', '1.2.3.0x4', '1e2.1.1.1', '1.2.3.4/24']) {
    assert.equal(parseAddress(bad), null, JSON.stringify(bad));
  }
});

test('IPv6 text: full, compressed, mixed case, IPv4 tail', () => {
  assert.equal(hexOf('2001:0db8:0000:0000:0000:ff00:0042:8329'), '20010db8000000000000ff0000428329');
  assert.equal(hexOf('2001:db8::ff00:42:8329'), '20010db8000000000000ff0000428329');
  assert.equal(hexOf('::'), '0'.repeat(32));
  assert.equal(hexOf('::1'), '0'.repeat(31) + '1');
  assert.equal(hexOf('1::'), '0001' + '0'.repeat(28));
  assert.equal(hexOf('FE80::ABCD'), 'fe80' + '0'.repeat(24) + 'abcd');
  assert.equal(hexOf('::ffff:192.0.2.1'), '00000000000000000000ffffc0000201');
  assert.equal(hexOf('64:ff9b::198.51.100.7'), '0064ff9b0000000000000000c6336407');
  assert.equal(hexOf('1:2:3:4:5:6:1.2.3.4'), '00010002000300040005000601020304');
  assert.equal(hexOf('1:2:3:4:5:6:7::'), '00010002000300040005000600070000');
  assert.equal(hexOf('::2:3:4:5:6:7:8'), '00000002000300040005000600070008');
});

test('IPv6 text refused: bad groups, two gaps, wrong counts, zones, prefixes, misplaced IPv4', () => {
  for (const bad of [
    ':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8',
    '12345::', 'g::1', ':1:2:3:4:5:6:7', '1:2:3:4:5:6:7:', 'fe80::1%eth0', '2001:db8::/32', '1.2.3.4::',
    '::1.2.3.4:5', '::256.1.1.1', '1:2:3:4:5:6:7:1.2.3.4', '::ffff:1.2.3', ' ::1',
  ]) {
    assert.equal(parseAddress(bad), null, bad);
  }
});

test('parseAddress agrees with node:net isIP on a corpus of valid and invalid text', () => {
  const corpus = [
    '1.2.3.4', '::', '::1', '2001:db8::1', '::ffff:1.2.3.4', '1::2:3', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789',
    '1:2:3:4:5:6:7::', '1:2::3:4:5:6:7', '::1:2:3:4:5:6:7', '1:2:3:4:5::1.2.3.4', '1:::', '1:2:3:4:5:6:7:8:9',
    'x::', '300.1.1.1', '1.2.3', '::1.2.3.4', '1:2:3:4:5:6:7:8',
  ];
  for (const text of corpus) assert.equal(parseAddress(text) !== null, isIP(text) !== 0, text);
});

test('RFC 5952 formatting', () => {
  const cases: [string, string][] = [
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // tie: the first run
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not shortened
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['fe80:0:0:0:0:0:0:ab', 'fe80::ab'],
    ['0:0:0:0:0:ffff:c000:0201', '::ffff:192.0.2.1'],
    ['64:ff9b::c633:6407', '64:ff9b::c633:6407'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ];
  for (const [input, expected] of cases) assert.equal(canonical(input), expected, input);
});

test('formatAddress reads at an offset inside a larger buffer', () => {
  const b = Buffer.alloc(40, 0xff);
  parseAddress('2001:db8::7')!.copy(b, 8);
  parseAddress('192.0.2.33')!.copy(b, 30);
  assert.equal(formatAddress(b, 8, 16), '2001:db8::7');
  assert.equal(formatAddress(b, 30, 4), '192.0.2.33');
});

test('10k random addresses: format then parse round-trips; IPv6 text matches the WHATWG URL serializer', () => {
  const random = rng(5);
  const b = Buffer.alloc(16);
  for (let i = 0; i < 10_000; i++) {
    const v6 = random() < 0.8;
    const len = v6 ? 16 : 4;
    for (let g = 0; g < len; g += 2) {
      // Many zero groups so that runs, ties and edges are common.
      const value = random() < 0.5 ? 0 : Math.floor(random() * 0x10000);
      b.writeUInt16BE(value, g);
    }
    const text = formatAddress(b, 0, len);
    assert.deepEqual(parseAddress(text), b.subarray(0, len), text);
    if (v6 && !text.startsWith('::ffff:')) {
      assert.equal(`[${text}]`, new URL(`http://[${text}]/`).hostname, 'canonical text');
    }
    if (!v6) assert.equal(isIP(text), 4);
  }
});
