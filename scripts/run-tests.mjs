#!/usr/bin/env node
// Runs every test/**/*.test.ts file with node:test through tsx. Node 20's `node --test` does not
// expand globs, so the list is built here, and an empty list is an error rather than a silent pass.
// Usage: node scripts/run-tests.mjs [path-prefix ...]   (e.g. test/sched)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const prefixes = process.argv.slice(2);
const all = walk('test', []);
const files = prefixes.length ? all.filter((f) => prefixes.some((p) => f.startsWith(p))) : all;
if (files.length === 0) {
  console.error(`run-tests: no test files found${prefixes.length ? ` under ${prefixes.join(', ')}` : ''}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
