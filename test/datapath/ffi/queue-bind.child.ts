/**
 * Child process for netlink-socket.test.ts, run in a network namespace of its own (`unshare --net`),
 * so the queues it binds exist only there and vanish with it. It drives real NETLINK_NETFILTER sockets
 * through NFQNL config commands and prints what the kernel answered as one JSON line; the parent test
 * asserts on it. With the argument `unprivileged` it only opens a socket and tries one BIND.
 *
 * The one message needed (NFQNL_MSG_CONFIG with an NFQA_CFG_CMD attribute) is encoded here, inline,
 * so that this test of the socket does not depend on the nfqueue codec.
 */
import { Worker } from 'node:worker_threads';
import * as libc from '../../../src/datapath/ffi/libc.js';
import { NetlinkSocket } from '../../../src/datapath/ffi/netlink-socket.js';

const NFQNL_MSG_CONFIG_TYPE = (3 << 8) | 2; // NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_CONFIG
const NLM_F_REQUEST = 1;
const NLM_F_ACK = 4;
const NLMSG_ERROR = 2;
const CMD_BIND = 1;
const CMD_UNBIND = 2;
const CONFIG_BYTES = 28;
const QUEUE = 4242;

/** nlmsghdr + nfgenmsg(AF_UNSPEC, v0, queue) + NFQA_CFG_CMD {command, pad, pf 0}: 28 bytes at `off`. */
function encodeConfig(buf: Buffer, off: number, seq: number, queue: number, command: number): number {
  buf.fill(0, off, off + CONFIG_BYTES);
  buf.writeUInt32LE(CONFIG_BYTES, off);
  buf.writeUInt16LE(NFQNL_MSG_CONFIG_TYPE, off + 4);
  buf.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK, off + 6);
  buf.writeUInt32LE(seq, off + 8);
  buf.writeUInt16BE(queue, off + 18);
  buf.writeUInt16LE(8, off + 20);
  buf.writeUInt16LE(1, off + 22);
  buf[off + 24] = command;
  return off + CONFIG_BYTES;
}

interface Ack {
  type: number;
  seq: number;
  pid: number;
  errno: number;
}

/** The ACKs (NLMSG_ERROR messages) of the last receiveBatch: one per buffer, each its first message. */
function acks(sock: NetlinkSocket, count: number): Ack[] {
  const out: Ack[] = [];
  for (let i = 0; i < count; i++) {
    const b = sock.batch.buffers[i];
    out.push({ type: b.readUInt16LE(4), seq: b.readUInt32LE(8), pid: b.readUInt32LE(12), errno: -b.readInt32LE(16) });
  }
  return out;
}

const scratch = Buffer.alloc(256);

/** Send one config command and take its answer: count of datagrams received and their ACKs. */
function command(sock: NetlinkSocket, seq: number, queue: number, cmd: number): { sent: number; readable: boolean; count: number; acks: Ack[] } {
  const sent = sock.send(scratch, encodeConfig(scratch, 0, seq, queue, cmd));
  const readable = sock.wait(1_000_000);
  const count = sock.receiveBatch();
  return { sent, readable, count, acks: acks(sock, Math.max(count, 0)) };
}

async function privileged(): Promise<Record<string, unknown>> {
  const efd = libc.eventfd(0, libc.EFD_CLOEXEC | libc.EFD_NONBLOCK);
  const a = NetlinkSocket.open({ receiveBufferBytes: 1 << 20, batchCount: 16, wakeFd: efd });
  const b = NetlinkSocket.open({ noEnobufs: false });
  const r: Record<string, unknown> = {
    ackMessageType: NLMSG_ERROR,
    portIds: [a.portId, b.portId],
    rcvbufGranted: libc.getsockoptInt(a.fd, libc.SOL_SOCKET, libc.SO_RCVBUF),
    noEnobufs: [libc.getsockoptInt(a.fd, libc.SOL_NETLINK, libc.NETLINK_NO_ENOBUFS), libc.getsockoptInt(b.fd, libc.SOL_NETLINK, libc.NETLINK_NO_ENOBUFS)],
  };
  r.bind = command(a, 1, QUEUE, CMD_BIND);
  r.otherSocketBind = command(b, 2, QUEUE, CMD_BIND);
  r.sameSocketRebind = command(a, 3, QUEUE, CMD_BIND);

  // Three commands in one datagram: three ACK datagrams, all drained by one receiveBatch.
  let end = encodeConfig(scratch, 0, 10, QUEUE + 1, CMD_BIND);
  end = encodeConfig(scratch, end, 11, QUEUE + 1, CMD_UNBIND);
  end = encodeConfig(scratch, end, 12, QUEUE, CMD_UNBIND);
  const sent = a.send(scratch, end);
  a.wait(1_000_000);
  const count = a.receiveBatch();
  r.threeInOne = { sent, count, acks: acks(a, count), thenEmpty: a.receiveBatch() };
  r.otherSocketBindAfterUnbind = command(b, 20, QUEUE, CMD_BIND);
  b.close();
  r.bindAfterOtherClosed = command(a, 21, QUEUE, CMD_BIND);

  const t0 = process.hrtime.bigint();
  const idleReadable = a.wait(2000);
  r.idleWait = { readable: idleReadable, us: Number(process.hrtime.bigint() - t0) / 1000, woken: a.woken };

  const w = new Worker(
    `const fs = require('node:fs'); const b = Buffer.alloc(8); b.writeBigUInt64LE(1n); setTimeout(() => fs.writeSync(${efd}, b), 30);`,
    { eval: true },
  );
  const t1 = process.hrtime.bigint();
  const wakeReadable = a.wait(10_000_000);
  r.wake = { readable: wakeReadable, woken: a.woken, ms: Number(process.hrtime.bigint() - t1) / 1e6, drained: libc.read(efd, scratch, 8) };
  await w.terminate();
  a.close();
  a.close();
  libc.close(efd);
  return r;
}

function unprivileged(): Record<string, unknown> {
  const a = NetlinkSocket.open();
  const r = { bind: command(a, 1, QUEUE, CMD_BIND) };
  a.close();
  return r;
}

const result = process.argv[2] === 'unprivileged' ? unprivileged() : await privileged();
process.stdout.write(`${JSON.stringify(result)}\n`);
