/**
 * A simulated minute of one 100 mbit/s link carrying four bulk TCP uploads (and their ACKs back
 * through the shaped ingress), through the real engine. Prints simulated seconds per CPU second and
 * packets per CPU second, beside the same event loop with the engine replaced by immediate accept.
 * The receiver window (62.5 KB per flow at 20 ms) holds the unshaped flows to about 100 mbit/s in
 * all, so both runs move about the same number of packets.
 */
import type { ResolvedLink } from '../../src/control/resolve.js';
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks } from '../../src/control/resolve.js';
import { prepareScenario } from '../../src/sim/run.js';
import { parseScenario, type Scenario } from '../../src/sim/scenario.js';

const CONFIG = `
links:
  - interface: eth0
    egress: 100mbit
    ingress: 100mbit
classes:
  bulk:
    rate: 90mbit
    ceil: 100%
    match: proto == "tcp"
  default:
    rate: 10mbit
    ceil: 100%
`;
const SCENARIO = `
duration: 60s
rtt: 20ms
sources:
  - {name: bulk, kind: tcp, src: 192.168.1.10, dst: 203.0.113.5, dport: 8443, count: 4, rwnd: 62500}
`;

function measure(links: ResolvedLink[], sc: Scenario, unshaped: boolean): { simPerCpu: number; pktPerCpu: number; packets: number } {
  const { sim } = prepareScenario(links, sc, { unshaped });
  const t0 = process.cpuUsage();
  sim.runUntil(sc.durationUs);
  const d = process.cpuUsage(t0);
  const cpuS = (d.user + d.system) / 1e6;
  const packets = sim.dp.counters.received;
  return { simPerCpu: sc.durationUs / 1e6 / cpuS, pktPerCpu: packets / cpuS, packets };
}

const cfg = parseConfigText(CONFIG, 'bench.yaml');
if (!cfg.ok) throw new Error(JSON.stringify(cfg.problems));
const sc = parseScenario(SCENARIO, 'bench.scenario.yaml');
if (!sc.ok) throw new Error(JSON.stringify(sc.problems));
const links = resolveLinks(cfg.config);

measure(links, sc.scenario, false); // warm the JIT
const base = measure(links, sc.scenario, true);
const real = measure(links, sc.scenario, false);
const f = (x: number) => x.toFixed(1);
console.log(
  `sim minute, 100mbit, 4 tcp: ${f(real.simPerCpu)} sim-s/cpu-s (${f(real.pktPerCpu / 1e3)} k pkt/cpu-s, ${real.packets} pkts) | ` +
  `baseline immediate accept: ${f(base.simPerCpu)} sim-s/cpu-s (${f(base.pktPerCpu / 1e3)} k pkt/cpu-s, ${base.packets} pkts) | ` +
  `ratio ${(real.simPerCpu / base.simPerCpu).toFixed(2)}`,
);
