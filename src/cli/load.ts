/**
 * Loading a configuration and a scenario for a command, turning their problems into CliFailure
 * (one `file:line:col: path: message` line each).
 */
import { formatProblem, type ConfigProblem } from '../control/errors.js';
import { loadConfig } from '../control/load.js';
import { resolveLinks, type ResolvedLink } from '../control/resolve.js';
import type { SluiceConfig } from '../control/schema.js';
import { existsSync } from 'node:fs';
import { loadScenario, type Scenario } from '../sim/scenario.js';
import { CliFailure, type Io } from './io.js';

/**
 * Prints a configuration's problems, one `file:line:col: path: message` line each, through `write`
 * (stdout for `check`, which is a linter; stderr for `run`), then the count on stderr.
 */
export function printProblems(write: (line: string) => void, io: Io, file: string, problems: readonly ConfigProblem[]): void {
  for (const p of problems) write(`${formatProblem(p)}\n`);
  io.err(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
}

function mustExist(path: string, what: string): void {
  if (!existsSync(path)) throw new CliFailure([`${path}: no such ${what} file`]);
}

export function loadConfigOrFail(path: string): { config: SluiceConfig; links: ResolvedLink[]; warnings: string[] } {
  mustExist(path, 'configuration');
  const r = loadConfig(path);
  if (!r.ok) throw new CliFailure(r.problems.map(formatProblem));
  return { config: r.config, links: resolveLinks(r.config), warnings: r.warnings.map((w) => `warning: ${formatProblem(w)}`) };
}

export function loadScenarioOrFail(path: string): Scenario {
  mustExist(path, 'scenario');
  const r = loadScenario(path);
  if (!r.ok) throw new CliFailure(r.problems.map(formatProblem));
  return r.scenario;
}
