/**
 * `sluice run` as a process inside a lab host, for the end-to-end tests, the datapath benchmark and
 * `sluice demo`. Loaded from source (a .ts URL: tests) it runs the CLI's source through tsx, so a
 * stale dist/ never hides a change; loaded from dist/ it runs bin/sluice.js. Its stdout and stderr are
 * collected; start() resolves once it logged that it is shaping (the queue is bound and the rules are
 * in), or rejects with everything it printed.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab } from './topology.js';

/** How long `sluice run` may take to bind its queue and install its rules (tsx compiles first). */
export const SLUICE_START_TIMEOUT_MS = 30_000;

/** The argv that runs the sluice command line with `args`. */
export function sluiceArgv(args: readonly string[]): string[] {
  const self = import.meta.url;
  if (self.endsWith('.js')) return [process.execPath, fileURLToPath(new URL('../../bin/sluice.js', self)), ...args];
  const main = new URL('../cli/main.ts', self).href;
  const entry = `import(${JSON.stringify(main)}).then(async (m) => { process.exitCode = await m.runCli(process.argv.slice(1)); })`;
  return [process.execPath, '--import', import.meta.resolve('tsx'), '-e', entry, ...args];
}

/** Control sockets of the sluices this process starts, one each: several may run at once. */
let sockets = 0;

export class SluiceProcess {
  private text = '';

  private constructor(
    readonly child: ChildProcess,
    /** Its control socket (`sluice status --socket` …). */
    readonly socket: string,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.text += d.toString()));
  }

  /** Starts `sluice run -c configFile [extra...]` in `host` and waits until it is shaping. */
  static async start(lab: Lab, host: string, configFile: string, extra: readonly string[] = []): Promise<SluiceProcess> {
    const socket = join(tmpdir(), `sluice-${process.pid}-${++sockets}.sock`);
    const p = new SluiceProcess(lab.spawn(host, sluiceArgv(['run', ...extra, '--socket', socket, '-c', configFile])), socket);
    try {
      await p.waitFor(/sluice: shaping [^\n]*\n/, SLUICE_START_TIMEOUT_MS);
    } catch (err) {
      p.child.kill('SIGKILL');
      throw err;
    }
    return p;
  }

  /** Everything it printed so far, stdout and stderr interleaved. */
  get output(): string {
    return this.text;
  }

  /** The first match of `re` in its output, waiting up to timeoutMs; rejects if it exits first. */
  waitFor(re: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const poll = (): void => {
        const m = re.exec(this.text);
        if (m) return resolve(m[0]);
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          return reject(new Error(`sluice exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${re}:\n${this.text}`));
        }
        if (Date.now() > deadline) return reject(new Error(`sluice printed no ${re} within ${timeoutMs} ms:\n${this.text}`));
        setTimeout(poll, 20);
      };
      poll();
    });
  }

  /** Sends `signal` and resolves with the exit code (null when a signal ended it); SIGKILL after timeoutMs. */
  stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`sluice did not exit within ${timeoutMs} ms of ${signal}:\n${this.text}`));
      }, timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
      child.kill(signal);
    });
  }
}
