/**
 * The daemon's side of the control API (protocol.ts): node:http on a Unix socket, mode 0600 so only
 * root (the daemon's user) may call it. A socket file left by a crashed daemon is replaced; one a
 * live daemon answers on is refused in one line, so two daemons never share a socket.
 */
import { chmodSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import type { ExplainFlowReply, FlowsReply, ReloadReply, StatusReply } from './protocol.js';

/** What the server asks of the running daemon. */
export interface DaemonControl {
  status(): StatusReply;
  flows(): Promise<FlowsReply>;
  /** Why live flow `id` is in its class under the running configuration; null when no live flow has that id. */
  explainFlow(id: number): Promise<ExplainFlowReply | null>;
  /** Sets a link direction's rate at run time (the reply says whether it took). */
  setLink(link: string, direction: 'egress' | 'ingress', rateBps: number): Promise<ReloadReply>;
  reload(): Promise<ReloadReply>;
  stop(): void;
}

/** The socket cannot be used: one line. */
export class ControlSocketError extends Error {}

/** Whether something answers HTTP on the socket at `path` (a live daemon). */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: path, path: '/v1/status', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** GET /v1/flows/ID/explain: the id. */
const EXPLAIN_FLOW = /^\/v1\/flows\/(\d+)\/explain$/;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export class ControlServer {
  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  static async listen(path: string, daemon: DaemonControl): Promise<ControlServer> {
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
    } catch (err) {
      throw new ControlSocketError(`control: ${path}: ${(err as Error).message}`);
    }
    if (await answers(path)) throw new ControlSocketError(`control: ${path}: another sluice is running and answers on it (stop it first, or pass --socket)`);
    try {
      unlinkSync(path);
    } catch {
      // Nothing left there: the usual case.
    }
    const server = createServer((req, res) => void ControlServer.handle(daemon, req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new ControlSocketError(`control: ${path}: ${err.message}`)));
      server.listen(path, () => resolve());
    });
    chmodSync(path, 0o600);
    return new ControlServer(server, path);
  }

  private static async handle(daemon: DaemonControl, req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://sluice');
    const route = `${req.method} ${url.pathname}`;
    try {
      const explain = req.method === 'GET' ? EXPLAIN_FLOW.exec(url.pathname) : null;
      if (explain !== null) {
        const id = Number(explain[1]);
        const reply = await daemon.explainFlow(id);
        return reply === null ? send(res, 404, { error: `no live flow ${id} — \`sluice flows\` lists them` }) : send(res, 200, reply);
      }
      switch (route) {
        case 'GET /v1/status':
          return send(res, 200, daemon.status());
        case 'GET /v1/flows':
          return send(res, 200, await daemon.flows());
        case 'POST /v1/reload':
          return send(res, 200, await daemon.reload());
        case 'POST /v1/link': {
          const link = url.searchParams.get('link') ?? '';
          const direction = url.searchParams.get('direction');
          const rateBps = Number(url.searchParams.get('rateBps'));
          if (link === '' || (direction !== 'egress' && direction !== 'ingress') || !(rateBps > 0) || !Number.isFinite(rateBps)) {
            return send(res, 400, { error: 'set link needs link=NAME, direction=egress|ingress and a finite rateBps > 0' });
          }
          return send(res, 200, await daemon.setLink(link, direction, rateBps));
        }
        case 'POST /v1/stop':
          send(res, 200, { stopping: true });
          res.once('finish', () => daemon.stop());
          return;
        default:
          return send(res, 404, { error: `no such call: ${route}` });
      }
    } catch (err) {
      send(res, 500, { error: (err as Error).message.split('\n')[0] });
    }
  }

  /**
   * Stops listening, ends the connections still open (a client stuck mid-request must not keep the
   * daemon from exiting; a stop's reply has been sent before the stop begins) and removes the socket file.
   */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}
