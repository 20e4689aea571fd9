/**
 * Every configuration in examples/ loads without a problem or a warning: they are what people copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatProblem } from '../../src/control/errors.js';
import { loadConfig } from '../../src/control/load.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const configs = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml') && !f.endsWith('.scenario.yaml'));

test('there are example configurations, process and country rules among them', () => {
  assert.ok(configs.length >= 5, configs.join(', '));
  assert.ok(configs.includes('shared-machine.yaml') && configs.includes('web-server.yaml'));
});

for (const file of configs) {
  test(`examples/${file} loads with no problem and no warning`, () => {
    const r = loadConfig(EXAMPLES + file);
    assert.ok(r.ok, r.ok ? '' : r.problems.map(formatProblem).join('\n'));
    assert.deepEqual(r.warnings.map(formatProblem), []);
  });
}
