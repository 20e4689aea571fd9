/**
 * The traffic agent: the program the lab runs inside a host's namespace (lab.spawn) to make or
 * measure traffic. Usage: `agent ROLE JSON`, for instance
 *
 *   node dist/lab/traffic/agent.js tcp-sink '{"port":5301,"lifetimeMs":15000}'
 *
 * Roles (args.ts says what each takes): tcp-sink, tcp-bulk, udp-sink, udp-rate, rr-server, rr-probe,
 * udp-flood. A server prints `ready` once it listens; every role prints exactly one JSON result line
 * at the end (results.ts) and exits 0, or prints one line on stderr and exits 1. A watchdog ends a
 * role that overruns its own bound (durationMs or lifetimeMs) by half a minute. Every result also says
 * how much CPU time the role used (cpuUs), so a benchmark can tell whether the generator kept up.
 */
import { describeError, fail, finish } from './agent-io.js';
import { isRole, parseRoleArgs, ROLES, type Role, type RoleArgs } from './args.js';
import { rrProbe } from './rr-probe.js';
import { rrServer } from './rr-server.js';
import { tcpBulk } from './tcp-bulk.js';
import { tcpSink } from './tcp-sink.js';
import { udpFlood } from './udp-flood.js';
import { udpRate } from './udp-rate.js';
import { udpSink } from './udp-sink.js';

const WATCHDOG_EXTRA_MS = 30_000;

const RUNNERS: { [R in Role]: (args: RoleArgs<R>) => Promise<object> } = {
  'tcp-sink': tcpSink,
  'tcp-bulk': tcpBulk,
  'udp-sink': udpSink,
  'udp-rate': udpRate,
  'rr-server': rrServer,
  'rr-probe': rrProbe,
  'udp-flood': udpFlood,
};

async function main(argv: readonly string[]): Promise<void> {
  const [role, json, ...rest] = argv;
  if (role === undefined || json === undefined || rest.length > 0) {
    throw new Error(`usage: agent ROLE JSON (roles: ${ROLES.join(', ')})`);
  }
  if (!isRole(role)) throw new Error(`unknown role "${role}" (roles: ${ROLES.join(', ')})`);
  const args = parseRoleArgs(role, json);
  const boundMs = ('lifetimeMs' in args ? args.lifetimeMs : args.durationMs) + WATCHDOG_EXTRA_MS;
  setTimeout(() => fail(`${role}: still running ${Math.round(boundMs)} ms after it started`), boundMs).unref();
  const run = RUNNERS[role] as (a: RoleArgs<Role>) => Promise<object>;
  const cpuAtStart = process.cpuUsage();
  const result = await run(args);
  const cpu = process.cpuUsage(cpuAtStart);
  finish({ ...result, cpuUs: cpu.user + cpu.system });
}

process.on('uncaughtException', (e) => fail(describeError(e)));
main(process.argv.slice(2)).catch((e: unknown) => fail(describeError(e)));
