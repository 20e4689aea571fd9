/**
 * `sluice top`: a live view of the running daemon, like iftop or nethogs — its class tree with what
 * each class sends now, then the heaviest flows — refreshed every interval from the control API
 * (status and flows, one call each). In a terminal it redraws in place and quits on q (or Ctrl-C);
 * when stdout is not a terminal (a pipe, a log) it prints one plain frame per interval instead,
 * `--count` frames in all.
 */
import type { FlowsReply, StatusReply } from '../control/api/protocol.js';
import { call, formatStatus } from './daemon.js';
import { formatFlows } from './flows.js';
import type { Io } from './io.js';

export interface TopOptions {
  socket: string;
  intervalMs: number;
  /** Frames to show before exiting; Infinity: until q. */
  count: number;
  /** Flows shown, heaviest first. */
  flows: number;
  /** Redraw in place and read q from stdin (a terminal); false: plain frames. */
  interactive: boolean;
  /** Terminal height, to cut the frame to the screen. */
  rows: number;
}

/** One frame: the status view and the heaviest flows, cut to `rows` lines when > 0. */
export function topFrame(status: StatusReply, flows: FlowsReply, nowMs: number, flowCount: number, rows: number): string[] {
  const heaviest = [...flows.flows].sort((a, b) => b.origRateBps + b.replyRateBps - (a.origRateBps + a.replyRateBps)).slice(0, flowCount);
  const lines = [...formatStatus(status, nowMs), '', `flows (${flows.flows.length}, heaviest ${heaviest.length}):`, ...formatFlows(heaviest)];
  return rows > 0 ? lines.slice(0, rows - 1) : lines;
}

const CLEAR = '\x1b[H\x1b[2J';

export async function topCommand(opts: TopOptions, io: Io, stdin: NodeJS.ReadStream = process.stdin): Promise<number> {
  let quit = false;
  let wake = (): void => undefined;
  const onKey = (key: Buffer): void => {
    const k = key.toString();
    if (k === 'q' || k === 'Q' || k === '\x03') {
      quit = true;
      wake();
    }
  };
  if (opts.interactive) {
    stdin.setRawMode?.(true);
    stdin.on('data', onKey);
    stdin.resume();
  }
  try {
    for (let frame = 0; frame < opts.count && !quit; frame++) {
      const status = await call<StatusReply>(opts.socket, 'GET', '/v1/status', io);
      const flows = status === null ? null : await call<FlowsReply>(opts.socket, 'GET', '/v1/flows', io);
      if (status === null || flows === null) return 2;
      const lines = topFrame(status, flows, Date.now(), opts.flows, opts.interactive ? opts.rows : 0);
      io.out(opts.interactive ? `${CLEAR}${lines.join('\n')}\n(q quits)` : `${lines.join('\n')}\n\n`);
      if (frame + 1 >= opts.count) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, opts.intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    if (opts.interactive) io.out('\n');
    return 0;
  } finally {
    if (opts.interactive) {
      stdin.off('data', onKey);
      stdin.setRawMode?.(false);
      stdin.pause();
    }
  }
}
