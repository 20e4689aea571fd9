/**
 * Running the system tools the lab is built with (ip, ethtool, ping, ...). Every command is an
 * argument array handed to execFile/spawn, never a shell string, so nothing a caller passes can be
 * interpreted by a shell. A failure becomes one LabCommandError whose message is a single line naming
 * the command, its exit status and its stderr, because test output and `sluice demo` show it as is.
 *
 * PATH always includes /usr/sbin and /sbin: `ip` and `ethtool` live there on Debian and a non-login
 * root shell (CI, sudo) does not always have them on PATH.
 */
import { execFile, execFileSync, type ExecFileException } from 'node:child_process';

const SBIN_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];

/** The Debian package that provides each tool the lab calls, for "not installed" messages. */
const PACKAGE_OF: Record<string, string> = {
  ip: 'iproute2',
  ethtool: 'ethtool',
  ping: 'iputils-ping',
  iptables: 'iptables',
  ip6tables: 'iptables',
  iperf3: 'iperf3',
  tc: 'iproute2',
};

/** The process environment with PATH extended so that the sbin tools resolve. */
export function toolEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const have = (base.PATH ?? '').split(':').filter((d) => d !== '');
  const missing = SBIN_DIRS.filter((d) => !have.includes(d));
  return { ...base, PATH: [...have, ...missing].join(':') };
}

/** A tool run by the lab failed: exited non-zero, timed out, or could not be started. */
export class LabCommandError extends Error {
  override name = 'LabCommandError';
  constructor(
    readonly argv: readonly string[],
    /** Exit status, or null when the command was killed (timeout) or never started. */
    readonly exitCode: number | null,
    readonly stderr: string,
    reason: string,
  ) {
    super(`${argv.join(' ')} ${reason}${stderr.trim() === '' ? '' : `: ${oneLine(stderr)}`}`);
  }
}

export interface RunOptions {
  /** Kill the command after this many milliseconds (default 10000). */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** When false, a non-zero exit is returned in the result rather than thrown (default true). */
  check?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit status; 0 unless `check: false` was given. */
  exitCode: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_OUTPUT_BYTES = 16 << 20;

/** Collapses multi-line tool output into one line. */
export function oneLine(text: string): string {
  return text.trim().split(/\s*\n\s*/).join(' / ');
}

function notInstalled(tool: string): string {
  const pkg = PACKAGE_OF[tool];
  return `could not start: ${tool} is not installed${pkg ? ` (install the Debian package ${pkg})` : ''}`;
}

function toError(argv: readonly string[], err: ExecFileException, stderr: string, timeoutMs: number): LabCommandError {
  if (err.code === 'ENOENT') {
    // ENOENT for `ip netns exec NS tool` comes from the inner tool through stderr, for argv[0] from spawn.
    return new LabCommandError(argv, null, '', notInstalled(argv[0]));
  }
  if (err.killed || err.signal) {
    const why = err.signal === 'SIGTERM' && err.killed ? `timed out after ${timeoutMs} ms` : `was killed by ${err.signal}`;
    return new LabCommandError(argv, null, stderr, why);
  }
  const code = typeof err.code === 'number' ? err.code : null;
  return new LabCommandError(argv, code, stderr, `failed (exit ${code ?? err.code})`);
}

/** Runs argv[0] with the rest as arguments; resolves with its output. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = execFile(
      argv[0],
      argv.slice(1),
      { env: toolEnv(), timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr, exitCode: 0 });
        const exited = typeof err.code === 'number' && !err.killed && !err.signal;
        if (exited && opts.check === false) return resolve({ stdout, stderr, exitCode: err.code as number });
        reject(toError(argv, err, stderr, timeoutMs));
      },
    );
    child.stdin?.on('error', () => undefined); // a command that exits without reading its input
    child.stdin?.end(opts.input ?? '');
  });
}

/**
 * The synchronous twin of run(), for the process 'exit' hook, where nothing asynchronous runs any more.
 * Never throws for a non-zero exit; returns the status instead (cleanup goes on past a failed step).
 */
export function runSync(argv: readonly string[], opts: { timeoutMs?: number } = {}): RunResult {
  try {
    const stdout = execFileSync(argv[0], argv.slice(1), {
      env: toolEnv(),
      timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      maxBuffer: MAX_OUTPUT_BYTES,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { stdout, stderr: '', exitCode: 0 };
  } catch (e) {
    const err = e as { status?: number | null; stdout?: string; stderr?: string };
    return { stdout: err.stdout ?? '', stderr: err.stderr ?? String(e), exitCode: err.status ?? -1 };
  }
}
