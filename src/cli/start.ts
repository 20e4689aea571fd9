/**
 * `sluice start`: `sluice run` in the background. The configuration is checked here first (its
 * problems print at once); then a detached `sluice run` is spawned with its output going to a log
 * file, and start waits until the daemon says on its control socket that it shapes (queue bound,
 * rules in, PID file written) or until it exits, whose last lines it prints. Exit 0 only once shaping is active.
 * -v and -q go on to the daemon.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { callDaemon, ControlCallError } from '../control/api/client.js';
import type { StatusReply } from '../control/api/protocol.js';
import { formatProblem } from '../control/errors.js';
import { loadConfig } from '../control/load.js';
import type { Io } from './io.js';
import { EXIT_FAILURE, VERBOSE_AND_QUIET } from './run.js';

export const DEFAULT_PID_FILE = '/run/sluice/sluice.pid';
export const DEFAULT_LOG_FILE = '/var/log/sluice.log';
/** How long the daemon may take to bind its queue and install its rules (tsx compiles first from sources). */
const START_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
const LOG_LINES_ON_FAILURE = 20;

export interface StartOptions {
  config: string;
  socket: string;
  pidFile: string;
  log: string;
  /** -v / -q for the daemon's log. */
  verbose?: boolean;
  quiet?: boolean;
}

function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-LOG_LINES_ON_FAILURE).join('\n');
  } catch {
    return '';
  }
}

export async function startCommand(opts: StartOptions, io: Io): Promise<number> {
  if (opts.verbose === true && opts.quiet === true) {
    io.err(`sluice: ${VERBOSE_AND_QUIET}\n`);
    return EXIT_FAILURE;
  }
  const checked = loadConfig(opts.config);
  if (!checked.ok) {
    for (const p of checked.problems) io.err(`${formatProblem(p)}\n`);
    return 1;
  }
  let logFd: number;
  try {
    mkdirSync(dirname(opts.log), { recursive: true });
    mkdirSync(dirname(opts.pidFile), { recursive: true });
    logFd = openSync(opts.log, 'a');
  } catch (err) {
    io.err(`sluice: ${(err as Error).message.split('\n')[0]}\n`);
    return 2;
  }
  const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
  const flags = [...(opts.verbose === true ? ['-v'] : []), ...(opts.quiet === true ? ['-q'] : [])];
  const child = spawn(process.execPath, [bin, 'run', ...flags, '-c', opts.config, '--socket', opts.socket, '--pid-file', opts.pidFile], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  let exited: number | null = null;
  child.once('exit', (code, signal) => (exited = code ?? (signal === null ? 1 : 128)));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited !== null) {
      io.err(`sluice: it exited (${exited}) before shaping; the end of ${opts.log}:\n${tail(opts.log)}\n`);
      return exited === 0 ? 1 : exited;
    }
    try {
      const status = await callDaemon<StatusReply>(opts.socket, 'GET', '/v1/status');
      if (status.pid === child.pid && status.shaping) {
        child.unref();
        io.out(`sluice: started (pid ${child.pid}); it logs to ${opts.log}; \`sluice status\` shows what it does\n`);
        return 0;
      }
    } catch (err) {
      if (!(err instanceof ControlCallError)) throw err;
    }
    await sleep(POLL_MS);
  }
  child.kill('SIGTERM');
  io.err(`sluice: it did not start within ${START_TIMEOUT_MS / 1000} s; the end of ${opts.log}:\n${tail(opts.log)}\n`);
  return 2;
}
