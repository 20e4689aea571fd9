/**
 * The shapers the datapath throughput benchmark puts on one lab interface, each started, measured
 * and stopped in turn: the C libnetfilter_queue pass-through (bench/baseline/), sluice (`sluice run`
 * through the lab's SluiceProcess, or, to profile it, the same command line under `node --cpu-prof`),
 * and the kernel's HTB (the lab's bottleneck helper).
 *
 * Every NFQUEUE shaper is fed by one and the same rule, installed here and not by sluice (its
 * configuration says `firewall: none`), so the C program and sluice see exactly the same packets:
 *
 *   iptables -t mangle -A POSTROUTING -o DEV -j NFQUEUE --queue-num N --queue-bypass
 *
 * which is the rule `sluice run` installs for an egress link (datapath/firewall/plan.ts) without its
 * chain, loopback RETURN and comment match.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatRate } from '../../src/control/units.js';
import type { CMode } from '../baseline/build.js';
import { SLUICE_START_TIMEOUT_MS, SluiceProcess, sluiceArgv, type Lab } from '../../src/lab/index.js';

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;
/** What the wire adds to an IP packet on a veth: its Ethernet header, which HTB counts too (skb->len). */
export const ETHERNET_OVERHEAD_BYTES = 14;

/** A running shaper process: its pid (for its CPU time), and stop() which resolves with what it printed. */
export interface ShaperRun {
  readonly pid: number;
  stop(): Promise<string>;
}

function ruleArgs(op: '-A' | '-D', dev: string, queueNum: number): string[] {
  return ['iptables', '-t', 'mangle', op, 'POSTROUTING', '-o', dev, '-j', 'NFQUEUE', '--queue-num', String(queueNum), '--queue-bypass'];
}

/** Queues every packet leaving `dev` of `host` to `queueNum`; the returned function removes the rule. */
export async function addQueueRule(lab: Lab, host: string, dev: string, queueNum: number): Promise<() => Promise<void>> {
  await lab.exec(host, ruleArgs('-A', dev, queueNum));
  return async () => {
    if (!lab.destroyed) await lab.exec(host, ruleArgs('-D', dev, queueNum));
  };
}

/** Starts argv in `host`, collecting its output, and waits until the output matches `ready`. */
async function startProcess(lab: Lab, host: string, argv: readonly string[], ready: RegExp, timeoutMs: number): Promise<ShaperRun> {
  const child = lab.spawn(host, argv);
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const what = argv.find((a) => a.includes('nfq-passthrough')) ?? 'sluice';
  const deadline = Date.now() + timeoutMs;
  while (!ready.test(text)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready: ${text.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} was not ready within ${timeoutMs} ms: ${text.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
        child.kill('SIGTERM');
        await exited;
        clearTimeout(timer);
      }
      return text;
    },
  };
}


/** Starts the C pass-through on `queueNum` in `host` and waits until it has bound the queue (its pid is then the program's: `ip netns exec` execs it). */
export async function startCBaseline(lab: Lab, host: string, binary: string, queueNum: number, mode: CMode): Promise<ShaperRun> {
  return startProcess(lab, host, [binary, '--queue', String(queueNum), '--mode', mode], /^ready$/m, READY_TIMEOUT_MS);
}

/** The class tree of the plain configurations: one default class taking the whole link. */
const ONE_CLASS: readonly string[] = ['classes:', '  default:', '    rate: 100%'];

/**
 * A `sluice run` configuration on `dev`'s egress at rateBps, counting Ethernet frames: one default
 * class, or the `classes:` section given (bench/classify/rule-set.ts writes one with rules).
 */
export function writeSluiceConfig(
  dir: string, name: string, dev: string, queueNum: number, rateBps: number, classLines: readonly string[] = ONE_CLASS,
): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      'datapath:',
      `  queues: ${queueNum}`,
      '  firewall: none',
      'links:',
      `  - interface: ${dev}`,
      `    egress: ${formatRate(rateBps)}`,
      `    overhead: ${ETHERNET_OVERHEAD_BYTES}`,
      ...classLines,
      '',
    ].join('\n'),
  );
  return file;
}

/** Starts `sluice run -c configFile` in `host`; with profileDir, under `node --cpu-prof` writing there (every thread). */
export async function startSluice(lab: Lab, host: string, configFile: string, profileDir: string | null): Promise<ShaperRun> {
  if (profileDir === null) {
    const p = await SluiceProcess.start(lab, host, configFile);
    return {
      pid: p.child.pid!,
      stop: async () => {
        await p.stop('SIGTERM');
        return p.output;
      },
    };
  }
  const [node, ...rest] = sluiceArgv(['run', '-c', configFile]);
  const argv = [node, '--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...rest];
  return startProcess(lab, host, argv, /sluice: shaping [^\n]*\n/, SLUICE_START_TIMEOUT_MS);
}
