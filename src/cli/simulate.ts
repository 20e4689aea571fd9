/**
 * `sluice simulate CONFIG SCENARIO [--json]`: runs the scenario's traffic through the real engine on
 * virtual time and prints the report (a table, or JSON).
 */
import { ScenarioLinkError } from '../sim/build-sources.js';
import { formatReport } from '../sim/format-report.js';
import { runScenario } from '../sim/run.js';
import { CliFailure, type Io } from './io.js';
import { loadConfigOrFail, loadScenarioOrFail } from './load.js';

export function simulateCommand(configPath: string, scenarioPath: string, json: boolean, io: Io): number {
  const { links, warnings } = loadConfigOrFail(configPath);
  const scenario = loadScenarioOrFail(scenarioPath);
  for (const w of warnings) io.err(`${w}\n`);
  let report;
  try {
    report = runScenario(links, scenario);
  } catch (err) {
    if (err instanceof ScenarioLinkError) throw new CliFailure([`${scenarioPath}: ${err.message}`]);
    throw err;
  }
  io.out(json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  return 0;
}
