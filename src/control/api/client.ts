/**
 * The CLI's side of the control API: one HTTP call over the daemon's Unix socket, its JSON reply.
 * A daemon that is not running (no socket, nobody listening) is one line saying so.
 */
import { request } from 'node:http';

/** The daemon could not be reached, or answered with an error: one line. */
export class ControlCallError extends Error {
  /** The HTTP status of the daemon's refusal (404: what the call names does not exist), null when it did not answer. */
  constructor(message: string, readonly status: number | null = null) {
    super(message);
  }
}

const CALL_TIMEOUT_MS = 30_000;

export function callDaemon<T>(socketPath: string, method: 'GET' | 'POST', path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: CALL_TIMEOUT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return reject(new ControlCallError(`sluice at ${socketPath} answered ${res.statusCode} with something that is not JSON`, res.statusCode ?? null));
        }
        const status = res.statusCode ?? 500;
        if (status >= 400) return reject(new ControlCallError(`sluice: ${(body as { error?: string }).error ?? `status ${status}`}`, status));
        resolve(body as T);
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${CALL_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new ControlCallError(`sluice is not running: no control socket at ${socketPath} (start it with \`sluice run\`, or pass --socket)`));
      } else if (err.code === 'EACCES') {
        reject(new ControlCallError(`control socket ${socketPath}: permission denied (it is root's: run as root)`));
      } else {
        reject(new ControlCallError(`control socket ${socketPath}: ${err.message}`));
      }
    });
    req.end();
  });
}
