/**
 * `sluice simulate CONFIG SCENARIO [--json]`: runs the scenario's traffic through the real engine on
 * virtual time and prints the report (a table, or JSON). A scenario with `at:` runs the classes'
 * schedule windows of that moment of the week, and those that begin or end during it (sim/schedule.ts).
 */
import { ScenarioLinkError } from '../sim/build-sources.js';
import { formatReport } from '../sim/format-report.js';
import { runConfigScenario } from '../sim/run.js';
import type { WindowsFrom } from '../sim/schedule.js';
import { scheduleWindows } from '../control/schedule.js';
import { CliFailure, type Io } from './io.js';
import { loadConfigOrFail, loadScenarioOrFail } from './load.js';

export function simulateCommand(configPath: string, scenarioPath: string, json: boolean, io: Io): number {
  const { config, warnings } = loadConfigOrFail(configPath);
  const scenario = loadScenarioOrFail(scenarioPath);
  for (const w of warnings) io.err(`${w}\n`);
  if (scenario.atWeekMinute === null && scheduleWindows(config).some((w) => w.active.length > 0)) {
    io.err(`note: ${scenarioPath}: no \`at:\` (e.g. at: tue 02:00), so the classes' schedules are not applied: the base rates and ceilings run\n`);
  }
  let run;
  try {
    run = runConfigScenario(config, scenario);
  } catch (err) {
    if (err instanceof ScenarioLinkError) throw new CliFailure([`${scenarioPath}: ${err.message}`]);
    throw err;
  }
  const { report, windows } = run;
  if (json) io.out(`${JSON.stringify(windows === null ? report : { ...report, schedule: windows }, null, 2)}\n`);
  else {
    for (const w of windows ?? []) io.out(`${formatWindows(w)}\n`);
    io.out(`${formatReport(report)}\n`);
  }
  return 0;
}

/** `0s (tue 02:00): windows in force: torrents 01:00-07:00`. */
export function formatWindows(w: WindowsFrom): string {
  const active = w.active.length === 0 ? 'no schedule window in force' : `windows in force: ${w.active.map((e) => `${e.classPath} ${e.label}`).join(', ')}`;
  // Windows change on whole minutes of virtual time: whole seconds read best (`60s`, not `1m`).
  return `${w.atUs / 1e6}s (${w.weekTime}): ${active}`;
}
