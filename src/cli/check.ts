/**
 * `sluice check -c FILE`: loads and validates a configuration. Problems are printed one per line as
 * `file:line:col: path: message` (exit 1); a good file prints each link's class tree as it will be
 * shaped, then any warnings (exit 0). Warnings include what only this machine can tell: a link's
 * interface that does not exist (yet: it may appear later, a VPN or a hotplugged modem) and a queue
 * number another program holds now; `sluice run` refuses both until they change.
 */
import { formatProblem } from '../control/errors.js';
import { loadConfig } from '../control/load.js';
import { describeTree } from '../control/describe.js';
import { resolveLinks } from '../control/resolve.js';
import { existsSync } from 'node:fs';
import { CliFailure, type Io } from './io.js';
import type { SluiceConfig } from '../control/schema.js';
import { describeHolder, findQueueHolders } from '../datapath/firewall/holders.js';
import { readIfindex } from '../datapath/nfqueue/link-classifier.js';
import { printProblems } from './load.js';

/** What this machine says of the configuration: interfaces that are not there, a queue that is taken. */
async function machineWarnings(config: SluiceConfig): Promise<string[]> {
  const warnings: string[] = [];
  config.links.forEach((link, i) => {
    try {
      readIfindex(link.interface);
    } catch {
      warnings.push(`links[${i}].interface: ${link.interface} does not exist in this network namespace (yet): sluice run refuses it until it does`);
    }
  });
  const queue = config.datapath?.queues?.first ?? 0;
  for (const holder of await findQueueHolders([queue])) {
    warnings.push(`datapath.queues: queue ${queue} is held now by ${describeHolder(holder)}: sluice run refuses it while that runs`);
  }
  return warnings;
}

export async function checkCommand(file: string, io: Io): Promise<number> {
  if (!existsSync(file)) throw new CliFailure([`${file}: no such configuration file`]);
  const r = loadConfig(file);
  if (!r.ok) {
    printProblems(io.out, io, file, r.problems);
    return 1;
  }
  for (const link of resolveLinks(r.config)) io.out(`${describeTree(link, r.config)}\n`);
  for (const w of r.warnings) io.out(`warning: ${formatProblem(w)}\n`);
  for (const w of await machineWarnings(r.config)) io.out(`warning: ${file}: ${w}\n`);
  io.out(`${file}: ok\n`);
  return 0;
}
