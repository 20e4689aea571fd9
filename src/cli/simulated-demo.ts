/**
 * `sluice demo --simulate`: runs the bundled example scenarios through the simulator and prints each report
 * under a one-line headline that says what the shaping achieved:
 *   home     bulk uploads next to a ping and a game on a 20 mbit/s uplink;
 *   seedbox  torrents with a global ceiling and per-connection caps beside a web upload;
 *   hosts    twenty LAN hosts sharing a download, one of them with eight connections.
 */
import { fileURLToPath } from 'node:url';
import { formatReport, roundedRate } from '../sim/format-report.js';
import { jainIndex, type SimReport } from '../sim/report.js';
import { runConfigScenario } from '../sim/run.js';
import { formatWindows } from './simulate.js';
import type { Io } from './io.js';
import { loadConfigOrFail, loadScenarioOrFail } from './load.js';

export interface Demo {
  title: string;
  config: string;
  scenario: string;
  headline(report: SimReport): string;
}

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

function ms(us: number | null): string {
  return us === null ? '-' : `${(us / 1000).toFixed(1)} ms`;
}

export const DEMOS: Demo[] = [
  {
    title: 'home uplink: bulk uploads vs interactive traffic',
    config: 'home.yaml',
    scenario: 'home-bulk-vs-interactive.scenario.yaml',
    headline(r) {
      const ping = r.flows.find((f) => f.name === 'ping');
      const bulk = r.flows.filter((f) => f.kind === 'tcp');
      const egress = r.links[0].directions.find((d) => d.direction === 'egress');
      return `ping round trip p99 ${ms(ping?.rttP99Us ?? null)} (20 ms of it propagation) while ${bulk.length} bulk flows ` +
        `fill the uplink: ${roundedRate(egress?.throughputBps ?? 0)} of ${roundedRate(egress?.rateBps ?? 0)}`;
    },
  },
  {
    title: 'seedbox: capped torrents next to a prioritised web class',
    config: 'seedbox.yaml',
    scenario: 'seedbox.scenario.yaml',
    headline(r) {
      const torrents = r.flows.filter((f) => f.class === 'torrents');
      const egress = r.links[0].directions.find((d) => d.direction === 'egress');
      const total = egress?.classes.find((c) => c.path === 'torrents')?.throughputBps ?? 0;
      const most = torrents.reduce((m, f) => Math.max(m, f.throughputBps), 0);
      const web = egress?.classes.find((c) => c.path === 'web')?.throughputBps ?? 0;
      return `${torrents.length} torrents held to ${roundedRate(total)} in all (ceil 2.4mbit), none above ${roundedRate(most)} ` +
        `(flow_ceil 400kbit), while the video upload keeps ${roundedRate(web)}`;
    },
  },
  {
    title: 'many hosts sharing one download',
    config: 'hosts.yaml',
    scenario: 'many-hosts.scenario.yaml',
    headline(r) {
      const perHost = new Map<string, number>();
      const flowsOf = new Map<string, number>();
      for (const f of r.flows) {
        perHost.set(f.local, (perHost.get(f.local) ?? 0) + f.throughputBps);
        flowsOf.set(f.local, (flowsOf.get(f.local) ?? 0) + 1);
      }
      const busiest = [...flowsOf.entries()].sort((a, b) => b[1] - a[1])[0];
      const others = [...perHost].filter(([host]) => host !== busiest[0]).map(([, bps]) => bps);
      const ingress = r.links[0].directions.find((d) => d.direction === 'ingress');
      return `${perHost.size} hosts share ${roundedRate(ingress?.rateBps ?? 0)}: per-host Jain ${jainIndex([...perHost.values()]).toFixed(3)}; ` +
        `the host with ${busiest[1]} connections gets ${roundedRate(perHost.get(busiest[0]) ?? 0)}, ` +
        `the others ${roundedRate(Math.min(...others))}..${roundedRate(Math.max(...others))}`;
    },
  },
];

export function simulatedDemoCommand(io: Io, dir = EXAMPLES): number {
  for (const demo of DEMOS) {
    const { config } = loadConfigOrFail(`${dir}${demo.config}`);
    const { report, windows } = runConfigScenario(config, loadScenarioOrFail(`${dir}${demo.scenario}`));
    io.out(`== ${demo.title} (examples/${demo.config} + examples/${demo.scenario})\n`);
    io.out(`${demo.headline(report)}\n\n${(windows ?? []).map((w) => `${formatWindows(w)}\n`).join('')}${formatReport(report)}\n\n`);
  }
  return 0;
}
