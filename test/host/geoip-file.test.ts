/**
 * The geoip file edge: by default the database shipped in the npm package, found through module
 * resolution; a user's file by path; and for a missing, unreadable or non-MMDB file one line that
 * names the file, as a HostLookupError with the errno name as its code.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { CountryResult } from '../../src/classify/geo/country-db.js';
import { HostLookupError } from '../../src/host/errors.js';
import { openGeoipFile, SHIPPED_GEOIP_PACKAGE, shippedGeoipPath } from '../../src/host/geoip-file.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-geoip-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function ccOf(db: ReturnType<typeof openGeoipFile>, bytes: number[]): string {
  const out = new CountryResult();
  db.lookup(Buffer.from(bytes), 0, bytes.length === 4 ? 4 : 6, out);
  return out.cc;
}

/** Asserts that `fn` throws a one-line HostLookupError with exactly this message and code. */
function assertFails(fn: () => unknown, message: string | RegExp, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HostLookupError, `a HostLookupError, not ${String(err)}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.equal(err.code, code);
    return true;
  });
}

test('the shipped database is found in its npm package and answers lookups', () => {
  const path = shippedGeoipPath();
  assert.ok(path.includes(`${sep}node_modules${sep}${SHIPPED_GEOIP_PACKAGE.split('/').join(sep)}${sep}`), path);
  assert.ok(path.endsWith('.mmdb') && existsSync(path), path);
  const db = openGeoipFile();
  assert.match(db.description, /, built \d{4}-\d\d-\d\d$/);
  assert.equal(ccOf(db, [8, 8, 8, 8]), 'US');
  assert.equal(ccOf(db, [192, 168, 1, 1]), '--');
});

test("a user's file is read from the path given", () => {
  const path = join(dir, 'My-Country.mmdb');
  copyFileSync(shippedGeoipPath(), path);
  const db = openGeoipFile(path);
  assert.equal(ccOf(db, [193, 0, 0, 1]), 'NL');
});

test('a missing file is one line naming it', () => {
  const path = join(dir, 'GeoLite2-Country.mmdb');
  assertFails(() => openGeoipFile(path), `geoip: ${path}: no such file`, 'ENOENT');
  assertFails(() => openGeoipFile(join(dir, 'no-dir', 'x.mmdb')), `geoip: ${join(dir, 'no-dir', 'x.mmdb')}: no such file`, 'ENOENT');
});

test('a directory is one line naming it', () => {
  assertFails(() => openGeoipFile(dir), `geoip: ${dir}: is a directory, not an .mmdb file`, 'EISDIR');
});

test('a file that is not an MMDB database is one line naming it', () => {
  const csv = join(dir, 'country.csv');
  writeFileSync(csv, '1.0.0.0,1.0.0.255,AU\n'.repeat(1000));
  assertFails(() => openGeoipFile(csv), `geoip: ${csv}: not a MaxMind DB file (no metadata section at its end)`, 'EBADMSG');
  const empty = join(dir, 'empty.mmdb');
  writeFileSync(empty, '');
  assertFails(() => openGeoipFile(empty), new RegExp(`^geoip: ${empty.replace(/[.]/g, '\\.')}: not a MaxMind DB file`), 'EBADMSG');
});
