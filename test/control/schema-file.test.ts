import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { configJsonSchema, configJsonSchemaText } from '../../src/control/schema.js';

const FILE = new URL('../../schema/sluice.schema.json', import.meta.url);

test('schema/sluice.schema.json is what scripts/gen-schema.ts generates now (run it after changing the schema)', () => {
  assert.equal(readFileSync(FILE, 'utf8'), configJsonSchemaText());
});

test('the JSON Schema describes what people write: strings with units, strict keys, recursive classes', () => {
  const schema = configJsonSchema() as {
    required: string[]; additionalProperties: boolean;
    properties: { links: { items: { properties: Record<string, { type?: string }>; additionalProperties: boolean } }; classes: { $ref: string } };
    $defs: { classes: { propertyNames: { pattern: string }; additionalProperties: { required: string[]; properties: Record<string, { $ref?: string }> } } };
  };
  assert.deepEqual(schema.required, ['links']);
  assert.equal(schema.additionalProperties, false);
  assert.equal(schema.properties.links.items.additionalProperties, false);
  assert.equal(schema.properties.links.items.properties.egress.type, 'string');
  assert.equal(schema.properties.links.items.properties.overhead.type, 'integer');
  assert.equal(schema.properties.classes.$ref, '#/$defs/classes');
  assert.deepEqual(schema.$defs.classes.additionalProperties.required, ['rate']);
  assert.equal(schema.$defs.classes.additionalProperties.properties.classes.$ref, '#/$defs/classes');
  assert.ok(new RegExp(schema.$defs.classes.propertyNames.pattern).test('torrents'));
  assert.ok(!new RegExp(schema.$defs.classes.propertyNames.pattern).test('a.b'));
});
