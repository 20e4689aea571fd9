/**
 * Running traffic agents in a lab's hosts from the test (or demo) process: start one with lab.spawn,
 * wait for its `ready` line, and read its result line when it exits. Arguments are checked here
 * before anything starts, so a mistake is thrown in the caller as one line. Every wait is bounded;
 * an agent that misses its bound is killed and the promise rejects naming role, host and its stderr.
 * Callers kill what they started in a finally (kill() does nothing to an agent that has exited);
 * lab.destroy() kills anything left as well.
 */
import type { ChildProcess } from 'node:child_process';
import type { Lab } from '../topology.js';
import { parseRoleArgs, type Role, type RoleInput } from './args.js';
import { agentCommand } from './command.js';
import type {
  AgentResult, RrProbeResult, RrServerResult, TcpBulkSendResult, TcpSinkResult, UdpFloodResult, UdpRateSendResult, UdpSinkResult,
} from './results.js';

/** What each role prints at the end. */
export interface RoleResults {
  'tcp-sink': TcpSinkResult & AgentResult;
  'tcp-bulk': TcpBulkSendResult & AgentResult;
  'udp-sink': UdpSinkResult & AgentResult;
  'udp-rate': UdpRateSendResult & AgentResult;
  'rr-server': RrServerResult & AgentResult;
  'rr-probe': RrProbeResult & AgentResult;
  'udp-flood': UdpFloodResult & AgentResult;
}

/** How long an agent may take to start and print `ready` (tsx compiles on first start; CI is slow). */
export const READY_TIMEOUT_MS = 20_000;
/** How long past its own bound an agent may take before it is killed as stuck. */
const FINISH_EXTRA_MS = 20_000;

export interface AgentRun<T> {
  readonly role: Role;
  readonly host: string;
  readonly child: ChildProcess;
  /**
   * Resolves once a server has printed `ready`; rejects if it exits or misses READY_TIMEOUT_MS first.
   * Clients print no `ready`: theirs is resolved from the start.
   */
  readonly ready: Promise<void>;
  /** The result line, once the agent has exited 0; rejects with its stderr line otherwise. */
  readonly result: Promise<T>;
  /** Asks a server to stop now and print its result (SIGTERM). */
  stop(): void;
  /** SIGKILL, if it still runs. */
  kill(): void;
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Starts `role` on `host` with `args`; its result must come within its bound plus a margin. */
export function startAgent<R extends Role>(lab: Lab, host: string, role: R, args: RoleInput<R>): AgentRun<RoleResults[R]> {
  const checked = parseRoleArgs(role, JSON.stringify(args));
  const boundMs = 'lifetimeMs' in checked ? checked.lifetimeMs : checked.durationMs;
  const child = lab.spawn(host, agentCommand(role, args));
  const what = `traffic agent ${role} on ${host}`;
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  const why = (): string => (stderr.trim() === '' ? 'no message' : stderr.trim().split('\n')[0]);
  const kill = (): void => {
    if (running(child)) child.kill('SIGKILL');
  };

  const ready = !('lifetimeMs' in checked) ? Promise.resolve() : new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`${what} was not ready within ${READY_TIMEOUT_MS} ms: ${why()}`));
    }, READY_TIMEOUT_MS);
    const check = (): void => {
      if (!/^ready$/m.test(stdout)) return;
      clearTimeout(timer);
      child.stdout!.removeListener('data', check);
      resolve();
    };
    child.stdout!.on('data', check);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (status ${code}) before it was ready: ${why()}`));
    });
  });

  const result = new Promise<RoleResults[R]>((resolve, reject) => {
    const limitMs = READY_TIMEOUT_MS + boundMs + FINISH_EXTRA_MS;
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`${what} did not finish within ${Math.round(limitMs)} ms`));
    }, limitMs);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${what} failed (${signal ?? `status ${code}`}): ${why()}`));
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as RoleResults[R]);
      } catch {
        reject(new Error(`${what} printed no result line: ${last.slice(0, 200)}`));
      }
    });
  });
  // Callers often await only one of the two; the other's rejection is not "unhandled".
  ready.catch(() => undefined);
  result.catch(() => undefined);

  return {
    role,
    host,
    child,
    ready,
    result,
    stop: () => {
      if (running(child)) child.kill('SIGTERM');
    },
    kill,
  };
}

/** Runs a role to its end and returns its result; kills it if the wait fails. */
export async function runAgent<R extends Role>(lab: Lab, host: string, role: R, args: RoleInput<R>): Promise<RoleResults[R]> {
  const agent = startAgent(lab, host, role, args);
  try {
    return await agent.result;
  } finally {
    agent.kill();
  }
}
