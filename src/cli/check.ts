/**
 * `sluice check -c FILE`: loads and validates a configuration. Problems are printed one per line as
 * `file:line:col: path: message` (exit 1); a good file prints each link's class tree as it will be
 * shaped, then any warnings (exit 0).
 */
import { formatProblem } from '../control/errors.js';
import { loadConfig } from '../control/load.js';
import { describeTree } from '../control/describe.js';
import { resolveLinks } from '../control/resolve.js';
import { existsSync } from 'node:fs';
import { CliFailure, type Io } from './io.js';
import { printProblems } from './load.js';

export function checkCommand(file: string, io: Io): number {
  if (!existsSync(file)) throw new CliFailure([`${file}: no such configuration file`]);
  const r = loadConfig(file);
  if (!r.ok) {
    printProblems(io.out, io, file, r.problems);
    return 1;
  }
  for (const link of resolveLinks(r.config)) io.out(`${describeTree(link)}\n`);
  for (const w of r.warnings) io.out(`warning: ${formatProblem(w)}\n`);
  io.out(`${file}: ok\n`);
  return 0;
}
