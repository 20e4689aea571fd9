/**
 * docs/rules.md documents the rule language for people: its attribute table names every attribute
 * a rule may use, with the right scope, and no attribute that does not exist.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { listAttributes } from '../../src/classify/compile.js';

const doc = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');

/** Attribute names and scope per table row: | `a`, `b` | type | scope | what |. */
function documented(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || !cells[1].startsWith('`')) continue;
    for (const m of cells[1].matchAll(/`([a-z0-9_.]+)`/g)) rows.set(m[1], cells[3]);
  }
  return rows;
}

test('docs/rules.md lists every attribute with its scope, and nothing else', () => {
  const rows = documented();
  const attrs = listAttributes();
  for (const a of attrs) assert.equal(rows.get(a.name), a.scope, `${a.name}: documented as ${rows.get(a.name) ?? 'missing'}, is ${a.scope}`);
  const names = new Set(attrs.map((a) => a.name));
  for (const name of rows.keys()) assert.ok(names.has(name), `docs/rules.md documents '${name}', which is not an attribute`);
});
