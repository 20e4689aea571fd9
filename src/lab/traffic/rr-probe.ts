/**
 * rr-probe: a small request every intervalMs to an rr-server, over UDP or one TCP connection (Nagle
 * off), and the round trip of each answer in microseconds (performance.now(), sub-microsecond
 * resolution). A probe whose answer has not come back within timeoutMs is lost, also when it comes
 * later; so a probe toward a port where nothing listens reports every probe lost instead of hanging
 * (ICMP port unreachable, which a connected UDP socket reports as an error, is counted and ignored).
 * After the last probe it waits for outstanding answers, at most timeoutMs.
 */
import net from 'node:net';
import { RR_MESSAGE_BYTES, SEQ_OFFSET, TAG_OFFSET, type RrProbeArgs } from './args.js';
import { Pacer, runPaced } from './pacer.js';
import type { RrProbeResult } from './results.js';
import { udpSocket } from './sockets.js';

interface Transport {
  send(request: Buffer): void;
  close(): void;
}

type OnReply = (reply: Buffer) => void;

function udpTransport(args: RrProbeArgs, onReply: OnReply, onError: () => void): Promise<Transport> {
  const sock = udpSocket(args.family);
  return new Promise((resolve, reject) => {
    const onConnectError = (e: NodeJS.ErrnoException): void => reject(new Error(`cannot connect UDP to [${args.host}]:${args.port}: ${e.code ?? e.message}`));
    sock.once('error', onConnectError);
    sock.connect(args.port, args.host, () => {
      sock.removeListener('error', onConnectError);
      sock.on('error', onError);
      sock.on('message', onReply);
      resolve({ send: (request) => sock.send(request), close: () => sock.close() });
    });
  });
}

function tcpTransport(args: RrProbeArgs, onReply: OnReply, onError: () => void): Promise<Transport> {
  const sock = net.connect({ host: args.host, port: args.port, noDelay: true });
  const frame = Buffer.alloc(RR_MESSAGE_BYTES);
  let filled = 0;
  return new Promise((resolve, reject) => {
    const onConnectError = (e: NodeJS.ErrnoException): void => reject(new Error(`cannot connect to [${args.host}]:${args.port}: ${e.code ?? e.message}`));
    sock.once('error', onConnectError);
    sock.once('connect', () => {
      sock.removeListener('error', onConnectError);
      sock.on('error', onError);
      // The echo comes back as a byte stream: cut it into requests again.
      sock.on('data', (chunk: Buffer) => {
        for (let at = 0; at < chunk.length; ) {
          const n = Math.min(RR_MESSAGE_BYTES - filled, chunk.length - at);
          chunk.copy(frame, filled, at, at + n);
          filled += n;
          at += n;
          if (filled === RR_MESSAGE_BYTES) {
            filled = 0;
            onReply(frame);
          }
        }
      });
      resolve({ send: (request) => void sock.write(request), close: () => sock.destroy() });
    });
  });
}

export async function rrProbe(args: RrProbeArgs): Promise<RrProbeResult> {
  const count = Math.max(1, Math.floor(args.durationMs / args.intervalMs));
  const sentAtMs = new Float64Array(count);
  const rttUs = new Float64Array(count).fill(Number.NaN);
  let sent = 0;
  let sending = true;
  let answered = 0;
  let errors = 0;
  let allAnswered: () => void = () => undefined;

  const onReply = (reply: Buffer): void => {
    const nowMs = performance.now();
    if (reply.length !== RR_MESSAGE_BYTES || reply.readUInt32BE(TAG_OFFSET) !== args.tag) return;
    const seq = reply.readUInt32BE(SEQ_OFFSET);
    if (seq >= sent || !Number.isNaN(rttUs[seq])) return;
    const rttMs = nowMs - sentAtMs[seq];
    if (rttMs > args.timeoutMs) return;
    rttUs[seq] = Math.round(rttMs * 1000);
    answered++;
    if (!sending && answered === sent) allAnswered();
  };
  const onError = (): void => {
    errors++;
  };
  const transport = await (args.proto === 'tcp' ? tcpTransport : udpTransport)(args, onReply, onError);

  const pacer = new Pacer(count, args.durationMs);
  await runPaced(pacer, args.durationMs, (seq) => {
    const request = Buffer.alloc(RR_MESSAGE_BYTES);
    request.writeUInt32BE(args.tag, TAG_OFFSET);
    request.writeUInt32BE(seq, SEQ_OFFSET);
    sentAtMs[seq] = performance.now();
    sent = seq + 1;
    transport.send(request);
    return true;
  });
  sending = false;
  if (answered < sent) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, args.timeoutMs);
      allAnswered = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  transport.close();
  const rttsUs = Array.from(rttUs).filter((us) => !Number.isNaN(us));
  return { sent, rttsUs, lost: sent - answered, errors };
}
