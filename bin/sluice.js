#!/usr/bin/env node
// The sluice command. Runs the compiled build (dist/, made by `npm install` / `npm run build`); in a
// development checkout without a build it runs the TypeScript sources through tsx instead.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// A reader that stops early (`sluice simulate ... | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'cli', 'main.js');
let entry = built;
if (!existsSync(built)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    console.error('sluice: not built and tsx is not installed — run `npm install` (or `npm run build`) first');
    process.exit(2);
  }
  entry = join(root, 'src', 'cli', 'main.ts');
}
const { runCli } = await import(pathToFileURL(entry).href);
process.exitCode = await runCli(process.argv.slice(2));
