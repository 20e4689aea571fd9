#!/usr/bin/env node
// Runs every bench/**/*.bench.ts file in its own process (so one benchmark's garbage and JIT state do
// not colour the next). Each prints its figure beside a baseline measured in the same run.
// Usage: node scripts/run-bench.mjs [path-prefix ...]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.bench.ts')) out.push(p);
  }
  return out;
}

const prefixes = process.argv.slice(2);
const all = walk('bench', []);
const files = prefixes.length ? all.filter((f) => prefixes.some((p) => f.startsWith(p))) : all;
if (files.length === 0) {
  console.error('run-bench: no benchmark files found');
  process.exit(1);
}
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', f], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
