import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddrSet } from '../../src/classify/prefix.js';
import { parseAddress } from '../../src/packet/addr.js';
import { Direction } from '../../src/datapath/types.js';
import { Proto } from '../../src/packet/types.js';
import { ctxFor, holds } from './helpers.js';

function set(...prefixes: string[]): AddrSet {
  return new AddrSet(
    prefixes.map((p) => {
      const [text, len] = p.split('/');
      const bytes = parseAddress(text)!;
      return { bytes, prefixLen: len === undefined ? bytes.length * 8 : Number(len) };
    }),
  );
}

/** Whether `addr` is in the set, with the address placed at an odd offset inside a larger buffer. */
function has(s: AddrSet, addr: string): boolean {
  const bytes = parseAddress(addr)!;
  const buf = Buffer.alloc(bytes.length + 7, 0xaa);
  bytes.copy(buf, 3);
  return s.has(buf, 3, bytes.length === 4 ? 4 : 6);
}

test('IPv4 prefix boundaries: /8, /0, /32, /31, and the sign bit', () => {
  const ten = set('10.0.0.0/8');
  assert.equal(has(ten, '10.0.0.0'), true);
  assert.equal(has(ten, '10.255.255.255'), true);
  assert.equal(has(ten, '11.0.0.0'), false);
  assert.equal(has(ten, '9.255.255.255'), false);
  const all = set('0.0.0.0/0');
  assert.equal(has(all, '0.0.0.0'), true);
  assert.equal(has(all, '255.255.255.255'), true);
  const host = set('192.0.2.1/32');
  assert.equal(has(host, '192.0.2.1'), true);
  assert.equal(has(host, '192.0.2.0'), false);
  assert.equal(has(host, '192.0.2.2'), false);
  const pair = set('192.0.2.2/31');
  assert.deepEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'].map((a) => has(pair, a)), [false, true, true, false]);
  const high = set('128.0.0.0/1', '255.255.255.255/32');
  assert.equal(has(high, '200.1.1.1'), true);
  assert.equal(has(high, '127.255.255.255'), false);
  assert.equal(has(set('255.255.255.255/32'), '255.255.255.254'), false);
});

test('IPv6 prefix boundaries: /32, /0, /128, and prefixes not on a word boundary', () => {
  const doc = set('2001:db8::/32');
  assert.equal(has(doc, '2001:db8::1'), true);
  assert.equal(has(doc, '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff'), true);
  assert.equal(has(doc, '2001:db9::'), false);
  const all = set('::/0');
  assert.equal(has(all, '::'), true);
  assert.equal(has(all, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), true);
  const one = set('2001:db8::1/128');
  assert.equal(has(one, '2001:db8::1'), true);
  assert.equal(has(one, '2001:db8::'), false);
  assert.equal(has(one, '2001:db8::1:0:0:1'), false);
  const odd = set('2001:db8:0:0:8000::/65');
  assert.equal(has(odd, '2001:db8::8000:0:0:1'), true);
  assert.equal(has(odd, '2001:db8::ffff:0:0:0'), true);
  assert.equal(has(odd, '2001:db8::7fff:0:0:0'), false);
  const last = set('::ffff:ffff:ffff:fffe/127');
  assert.equal(has(last, '::ffff:ffff:ffff:ffff'), true);
  assert.equal(has(last, '::ffff:ffff:ffff:fffd'), false);
});

test('families never mix, except v4-mapped IPv6 addresses against IPv4 prefixes', () => {
  const v4 = set('0.0.0.0/0');
  const v6 = set('::/0');
  assert.equal(has(v4, '2001:db8::1'), false, 'IPv4 /0 does not match IPv6');
  assert.equal(has(v6, '10.0.0.1'), false, 'IPv6 /0 does not match IPv4');
  assert.equal(has(set('::a00:1/128'), '10.0.0.1'), false, 'the same 32 bits in an IPv6 prefix do not match IPv4');
  const ten = set('10.0.0.0/8');
  assert.equal(has(ten, '::ffff:10.1.2.3'), true, 'v4-mapped matches the IPv4 prefix');
  assert.equal(has(ten, '::ffff:11.1.2.3'), false);
  assert.equal(has(ten, '::10.1.2.3'), false, 'IPv4-compatible (deprecated) is not v4-mapped');
  assert.equal(has(ten, '0:0:0:0:1:ffff:a01:203'), false, 'a non-zero bit before ffff is not v4-mapped');
  assert.equal(has(set('::ffff:0:0/96'), '::ffff:10.1.2.3'), true, 'a mapped address is also IPv6');
  assert.equal(has(set('192.0.2.1'), '::ffff:192.0.2.1'), true, 'exact IPv4 address');
});

test('lists of prefixes of both families', () => {
  const s = set('10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', 'fe80::/10');
  const inside = ['10.1.1.1', '172.31.255.255', '192.168.1.1', 'fd00::1', 'fe80::1', '::ffff:172.16.0.1'];
  const outside = ['172.32.0.0', '8.8.8.8', '2001:db8::1', 'fec0::1', '::1'];
  for (const a of inside) assert.equal(has(s, a), true, a);
  for (const a of outside) assert.equal(has(s, a), false, a);
  assert.equal(has(set(), '10.0.0.1'), false);
});

test('rules read addresses from real packets, both families', () => {
  const v4 = ctxFor({ ipVersion: 4, src: '192.168.1.10', dst: '10.9.8.7', proto: Proto.UDP, sport: 1, dport: 2 });
  assert.equal(holds('raddr in 10.0.0.0/8', v4), true);
  assert.equal(holds('raddr in 2001:db8::/32', v4), false);
  assert.equal(holds('raddr in 0.0.0.0/0 and not (raddr in ::/0)', v4), true);
  assert.equal(holds('dst == 10.9.8.7 and src != 10.9.8.7', v4), true);
  const v6 = ctxFor({ ipVersion: 6, src: '2001:db8::10', dst: '::ffff:10.9.8.7', proto: Proto.UDP, sport: 1, dport: 2 }, Direction.EGRESS);
  assert.equal(holds('raddr in 10.0.0.0/8 and laddr in 2001:db8::/32', v6), true);
  assert.equal(holds('laddr in 0.0.0.0/0', v6), false);
  assert.equal(holds('laddr == 2001:db8::10 and laddr != 2001:db8::11', v6), true);
  assert.equal(holds('raddr in [192.168.0.0/16, 10.9.8.7]', v6), true);
});
