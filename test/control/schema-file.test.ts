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

test('an editor\'s JSON Schema validator (ajv, draft 2020-12) accepts every example and rejects a bad file', async () => {
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const { parse } = await import('yaml');
  const { readdirSync } = await import('node:fs');
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validate = ajv.compile(configJsonSchema());
  const examples = new URL('../../examples/', import.meta.url);
  const files = readdirSync(examples).filter((f) => f.endsWith('.yaml') && !f.endsWith('.scenario.yaml'));
  assert.ok(files.length >= 5);
  for (const f of files) {
    assert.equal(validate(parse(readFileSync(new URL(f, examples), 'utf8'))), true, `${f}: ${JSON.stringify(validate.errors)}`);
  }
  const bad = parse('links:\n  - interface: eth0\n    egress: 20\n    mtu: 9\nclasses:\n  web:\n    ceil: 10mbit\n    colour: red\n');
  assert.equal(validate(bad), false);
  const where = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`).join('; ');
  assert.match(where, /\/links\/0\/egress must be string/);
  assert.match(where, /\/links\/0\/mtu must be >= 68/);
  assert.match(where, /\/classes\/web must have required property 'rate'/);
  assert.match(where, /\/classes\/web must NOT have additional properties/);
});
