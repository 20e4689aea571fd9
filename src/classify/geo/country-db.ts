/**
 * CountryDb: the country of an address, for the `cc` and `country` rule attributes, from a MaxMind
 * DB (MMDB) file's bytes read with mmdb-lib. Pure: built from a Buffer (src/host/geoip-file.ts reads
 * the file), no I/O, no clock.
 *
 * Record shapes understood (countryOfRecord / countryNameOfRecord):
 *   - GeoLite2 / GeoIP2 Country and City, DB-IP: `{country: {iso_code, names: {en}}, registered_country: ...}`;
 *     `country` first, `registered_country` when the address has no located country (e.g. some anycast).
 *   - ip-location-db (the shipped database) and similar flat files: `{country_code}`.
 *
 * Results (written into a reused CountryResult):
 *   - a known public address: cc = ISO 3166-1 alpha-2 in upper case, name = the database's English name
 *     or, when it carries none, the one Intl.DisplayNames(['en'], {type: 'region'}) gives (CLDR, so it
 *     can change with Node's ICU: "Türkiye" since CLDR 42). Rules should prefer `cc`.
 *   - a private or local address (LOCAL_RANGES below: RFC 1918, loopback, link-local, CGNAT, ULA,
 *     multicast, unspecified, documentation, benchmarking, reserved) — decided before the database is
 *     consulted, since databases place some of these in a country: cc = '--', name = 'private/local'.
 *   - an address the database does not know (or a code 'ZZ', "unknown region"): cc = '??', name = 'unknown'.
 * An IPv4-mapped (::ffff:a.b.c.d) or NAT64 well-known-prefix (64:ff9b::a.b.c.d, RFC 6052) IPv6 address
 * is looked up as the IPv4 address it carries.
 *
 * Cost: lookup is called once per new flow, not per packet. It formats the address as text (mmdb-lib
 * takes strings), mmdb-lib parses it back and walks the tree (a random walk through the 8 MB file:
 * cache misses); decoded records are cached by data offset (a country database has a few hundred),
 * so what a lookup allocates is the text and mmdb-lib's short-lived arrays: about 0.6 KB for IPv4,
 * 1.3 KB for IPv6, and some microseconds (bench/classify/geo.bench.ts).
 */
import { Reader, type Response } from 'mmdb-lib';
import { formatAddress, parseAddress } from '../../packet/addr.js';
import { AddrSet, type Prefix } from '../prefix.js';

export const LOCAL_CC = '--';
export const LOCAL_NAME = 'private/local';
export const UNKNOWN_CC = '??';
export const UNKNOWN_NAME = 'unknown';

/** The country of one address; one object is reused across lookups and filled by CountryDb.lookup. */
export class CountryResult {
  /** ISO 3166-1 alpha-2 code, '--' (private/local) or '??' (unknown). */
  cc = LOCAL_CC;
  /** English name, 'private/local' or 'unknown'. */
  name = '';
}

/**
 * Addresses that are in no country (IANA IPv4 and IPv6 special-purpose registries, RFC 6890, and the
 * multicast blocks). Global special-purpose blocks (6to4 relays, Teredo, TURN anycast) are not here:
 * they are looked up.
 */
const LOCAL_RANGES: readonly string[] = [
  '0.0.0.0/8', // "this network", unspecified
  '10.0.0.0/8', // private (RFC 1918)
  '100.64.0.0/10', // shared address space, carrier-grade NAT (RFC 6598)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local
  '172.16.0.0/12', // private
  '192.0.0.0/24', // IETF protocol assignments (DS-Lite, NAT64 discovery)
  '192.0.2.0/24', // documentation TEST-NET-1 (RFC 5737)
  '192.168.0.0/16', // private
  '198.18.0.0/15', // benchmarking (RFC 2544)
  '198.51.100.0/24', // documentation TEST-NET-2
  '203.0.113.0/24', // documentation TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and 255.255.255.255 broadcast
  '::/128', // unspecified
  '::1/128', // loopback
  '100::/64', // discard-only (RFC 6666)
  '2001:db8::/32', // documentation (RFC 3849)
  '3fff::/20', // documentation (RFC 9637)
  'fc00::/7', // unique local (RFC 4193)
  'fe80::/10', // link-local
  'fec0::/10', // site-local (deprecated, RFC 3879)
  'ff00::/8', // multicast
];

function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  const bytes = parseAddress(text.slice(0, slash));
  if (bytes === null) throw new Error(`bad built-in prefix ${text}`);
  return { bytes, prefixLen: Number(text.slice(slash + 1)) };
}

/** The private and local ranges as a set; an IPv4-mapped address is tested as its IPv4 address. */
const LOCAL = new AddrSet(LOCAL_RANGES.map(parsePrefix));

/** "\xAB\xCD\xEFMaxMind.com": starts the metadata section at the end of every MMDB file. */
const METADATA_MARKER = Buffer.from('abcdef4d61784d696e642e636f6d', 'hex');
/** The metadata section is at most 128 KiB from the end of the file (MMDB spec). */
const METADATA_MAX_BYTES = 128 * 1024;
/** Decoded records kept (a country database has a few hundred; a City file would have millions). */
const RECORD_CACHE_ENTRIES = 4096;

/** mmdb-lib's decoder cache: records by data offset, bounded (inserts stop when it is full). */
class RecordCache {
  private readonly map = new Map<string | number, unknown>();
  get(key: string | number): unknown {
    return this.map.get(key);
  }
  set(key: string | number, value: unknown): void {
    if (this.map.size < RECORD_CACHE_ENTRIES) this.map.set(key, value);
  }
}

export class CountryDb {
  /** Database type and build date, e.g. "country ipvAll, built 2026-06-17", for the start line. */
  readonly description: string;
  private readonly reader: Reader<Response>;
  /** Whether the database holds IPv6 (an IPv4-only file answers '??' for IPv6 addresses). */
  private readonly hasIpv6: boolean;
  /** English region names, by code, filled as codes are met. */
  private readonly names = new Map<string, string>();
  private readonly displayNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });

  private constructor(reader: Reader<Response>) {
    this.reader = reader;
    const meta = reader.metadata;
    this.hasIpv6 = meta.ipVersion === 6;
    const built = Number.isNaN(meta.buildEpoch.getTime()) ? 'unknown date' : meta.buildEpoch.toISOString().slice(0, 10);
    this.description = `${meta.databaseType || 'untyped database'}, built ${built}`;
  }

  /** A database over an MMDB file's bytes; `label` (e.g. "geoip: /path") starts the error's one line. */
  static fromBuffer(buf: Buffer, label: string): CountryDb {
    const searchFrom = Math.max(0, buf.length - METADATA_MAX_BYTES);
    if (buf.lastIndexOf(METADATA_MARKER) < searchFrom) {
      throw new Error(`${label}: not a MaxMind DB file (no metadata section at its end)`);
    }
    let reader: Reader<Response>;
    try {
      reader = new Reader<Response>(buf, { cache: new RecordCache() });
    } catch (err) {
      throw new Error(`${label}: not a MaxMind DB file (${(err as Error).message})`);
    }
    const meta = reader.metadata;
    if (meta.binaryFormatMajorVersion !== 2 || (meta.ipVersion !== 4 && meta.ipVersion !== 6) || !(meta.nodeCount > 0)) {
      throw new Error(`${label}: not a MaxMind DB file (unsupported format version or header)`);
    }
    return new CountryDb(reader);
  }

  /** Looks up the address whose bytes are buf[offset .. offset + (ipVersion === 4 ? 4 : 16)). */
  lookup(buf: Buffer, offset: number, ipVersion: number, out: CountryResult): void {
    const v4Offset = ipVersion === 4 ? offset : embeddedIpv4Offset(buf, offset);
    const isV4 = v4Offset >= 0;
    if (isV4 ? LOCAL.has(buf, v4Offset, 4) : LOCAL.has(buf, offset, 6)) {
      out.cc = LOCAL_CC;
      out.name = LOCAL_NAME;
      return;
    }
    if (!isV4 && !this.hasIpv6) {
      setUnknown(out);
      return;
    }
    const text = isV4 ? formatAddress(buf, v4Offset, 4) : formatAddress(buf, offset, 16);
    let record: Response | null;
    try {
      record = this.reader.get(text);
    } catch {
      // A damaged data section (fromBuffer checks the header only) makes that address unknown.
      record = null;
    }
    const cc = countryOfRecord(record);
    if (cc === null) {
      setUnknown(out);
      return;
    }
    out.cc = cc;
    out.name = countryNameOfRecord(record) ?? this.nameOf(cc);
  }

  /** The English name for a code (CLDR through Intl), or the code itself when CLDR has none. */
  private nameOf(cc: string): string {
    let name = this.names.get(cc);
    if (name === undefined) {
      name = this.displayNames.of(cc) ?? cc;
      this.names.set(cc, name);
    }
    return name;
  }
}

function setUnknown(out: CountryResult): void {
  out.cc = UNKNOWN_CC;
  out.name = UNKNOWN_NAME;
}

/**
 * Where the IPv4 address inside an IPv6 address starts: offset + 12 for ::ffff:0:0/96 (IPv4-mapped)
 * and 64:ff9b::/96 (NAT64), else -1.
 */
function embeddedIpv4Offset(buf: Buffer, offset: number): number {
  for (let i = 4; i < 10; i++) if (buf[offset + i] !== 0) return -1;
  const w0 = (buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3];
  const w2 = (buf[offset + 10] << 8) | buf[offset + 11];
  if (w0 === 0 && w2 === 0xffff) return offset + 12;
  if (w0 === 0x0064ff9b && w2 === 0) return offset + 12;
  return -1;
}

type Fields = Record<string, unknown>;

function asFields(value: unknown): Fields | null {
  return typeof value === 'object' && value !== null ? (value as Fields) : null;
}

function isoCode(value: unknown): string | null {
  if (typeof value !== 'string' || !/^[A-Za-z]{2}$/.test(value)) return null;
  const cc = value.toUpperCase();
  return cc === 'ZZ' ? null : cc;
}

/** The GeoLite2-shaped sub-record that places the address: `country`, else `registered_country`. */
function placingRecord(rec: Fields): Fields | null {
  const country = asFields(rec.country);
  if (country !== null && isoCode(country.iso_code) !== null) return country;
  const registered = asFields(rec.registered_country);
  if (registered !== null && isoCode(registered.iso_code) !== null) return registered;
  return null;
}

/**
 * The ISO 3166-1 alpha-2 code (upper case) a database record gives, or null when it gives none:
 * `country.iso_code`, else `registered_country.iso_code` (GeoLite2, DB-IP), else `country_code`
 * (ip-location-db). 'ZZ' (unknown region) counts as none.
 */
export function countryOfRecord(record: unknown): string | null {
  const rec = asFields(record);
  if (rec === null) return null;
  const placing = placingRecord(rec);
  if (placing !== null) return isoCode(placing.iso_code);
  return isoCode(rec.country_code);
}

/** The English name the record carries for the code countryOfRecord returns (`names.en`), or null. */
export function countryNameOfRecord(record: unknown): string | null {
  const rec = asFields(record);
  if (rec === null) return null;
  const placing = placingRecord(rec);
  if (placing === null) return null;
  const en = asFields(placing.names)?.en;
  return typeof en === 'string' && en !== '' ? en : null;
}
