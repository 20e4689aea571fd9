// Writes schema/sluice.schema.json from the zod definitions in src/control/schema.ts, so editors can
// check and complete sluice.yaml. test/control/schema-file.test.ts fails when the file is stale.
// Usage: node --import tsx scripts/gen-schema.ts
import { writeFileSync } from 'node:fs';
import { configJsonSchemaText } from '../src/control/schema.js';

const target = new URL('../schema/sluice.schema.json', import.meta.url);
writeFileSync(target, configJsonSchemaText());
console.log(`wrote ${target.pathname}`);
