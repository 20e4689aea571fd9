/**
 * tcp-bulk: N parallel TCP streams to one sink, each written as fast as its socket takes data, for
 * durationMs from the moment all are connected. One large buffer is written again and again (its
 * contents never change, so a write still queued in Node is unaffected); nothing is allocated per
 * write by this code. At the end each stream is closed gracefully; a stream that cannot hand over
 * its queued bytes within lingerMs (a slow shaped link, a full send buffer) is reset instead, and the
 * result then says flushed: false, since some bytes counted as sent never arrived.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TcpBulkArgs } from './args.js';
import { roundMs } from './bins.js';
import type { TcpBulkSendResult } from './results.js';

const FILL_BYTE = 0x5a;

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const onError = (e: NodeJS.ErrnoException): void => reject(new Error(`cannot connect to [${host}]:${port}: ${e.code ?? e.message}`));
    sock.once('error', onError);
    sock.once('connect', () => {
      sock.removeListener('error', onError);
      resolve(sock);
    });
  });
}

/** Ends every stream; resolves true if all closed cleanly within lingerMs, else resets the rest. */
async function closeAll(socks: readonly net.Socket[], lingerMs: number): Promise<boolean> {
  const closed = socks.map(
    (sock) => new Promise<boolean>((resolve) => {
      if (sock.closed) return resolve(false);
      sock.once('close', (hadError) => resolve(!hadError));
      sock.end();
    }),
  );
  const clean = await Promise.race([Promise.all(closed), sleep(lingerMs).then(() => null)]);
  if (clean !== null) return clean.every(Boolean);
  for (const sock of socks) if (!sock.closed) sock.resetAndDestroy();
  return false;
}

export async function tcpBulk(args: TcpBulkArgs): Promise<TcpBulkSendResult> {
  const buf = Buffer.alloc(args.writeBytes, FILL_BYTE);
  const connecting = Array.from({ length: args.streams }, () => connect(args.host, args.port));
  const outcomes = await Promise.allSettled(connecting);
  const socks = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const refused = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (refused) {
    for (const sock of socks) sock.destroy();
    throw refused.reason;
  }

  let stopped = false;
  let failure: Error | null = null;
  let onFailure: () => void = () => undefined;
  const failed = new Promise<void>((resolve) => (onFailure = resolve));
  for (const sock of socks) {
    const pump = (): void => {
      // Write until Node's queue for the socket is full; 'drain' calls again once it has emptied.
      while (!stopped && sock.write(buf)) continue;
    };
    sock.on('drain', pump);
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (stopped || failure !== null) return;
      failure = new Error(`stream to [${args.host}]:${args.port} failed while sending: ${e.code ?? e.message}`);
      onFailure();
    });
    setImmediate(pump);
  }
  const startMs = performance.now();
  await Promise.race([sleep(args.durationMs), failed]);
  stopped = true;
  const durationMs = performance.now() - startMs;
  const flushed = await closeAll(socks, args.lingerMs);
  if (failure !== null) throw failure;
  const sentBytes = socks.reduce((sum, s) => sum + s.bytesWritten, 0);
  return { sentBytes, streams: socks.length, durationMs: roundMs(durationMs), flushed };
}
