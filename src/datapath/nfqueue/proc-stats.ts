/**
 * The kernel's own counters for NFQUEUE queues, read from /proc/net/netfilter/nfnetlink_queue: how
 * many packets a queue holds now, and how many the kernel dropped because the queue was full
 * (queue_dropped) or because the message could not reach our socket (user_dropped, a full receive
 * buffer). They say what sluice's own counters cannot: packets lost before sluice ever saw them.
 *
 * With NFQA_CFG_F_FAIL_OPEN the kernel counts neither: a packet that finds the queue full, or whose
 * message does not fit the socket, is accepted unqueued and uncounted (__nfqnl_enqueue_packet). So
 * both stay 0 under fail-open even when packets pass unshaped; only fail-closed queues count them.
 *
 * One line per bound queue, written by seq_show() in the kernel's nfnetlink_queue.c as
 * "%5u %6u %5u %1u %5u %5u %5u %8u %2d": queue number, peer port id, queue total, copy mode, copy
 * range, queue_dropped, user_dropped, id sequence, and a constant 1 (older kernels printed the same
 * fields with %d, so a value above 2^31 may show as negative; it is read back as the uint32 it is).
 *
 * The file is per network namespace (/proc/net is /proc/self/net): it lists the queues of the
 * namespace of the process that reads it. Reading it needs root (mode 0440).
 */
import { readFileSync } from 'node:fs';

export const NFQUEUE_PROC_PATH = '/proc/net/netfilter/nfnetlink_queue';

/** One queue's line. Counts are packets since the queue was bound. */
export interface QueueProcStats {
  queueNum: number;
  /** Netlink port id of the socket bound to the queue. */
  peerPortId: number;
  /** Packets the kernel holds for the queue now (queued, no verdict yet). */
  queueTotal: number;
  /** NFQNL_COPY_NONE 0, NFQNL_COPY_META 1, NFQNL_COPY_PACKET 2. */
  copyMode: number;
  /** Bytes of each packet copied to user space. */
  copyRangeBytes: number;
  /** Packets dropped because the queue held its maxlen (fail-closed only; fail-open passes them uncounted). */
  queueDropped: number;
  /** Packets dropped because their message did not fit the socket's receive buffer (fail-closed only). */
  userDropped: number;
  /** The last packet id the kernel handed out (ids count up from 1 per queue). */
  idSequence: number;
}

const FIELD_COUNT = 9;
const INTEGER = /^-?\d+$/;

/** Every queue line of the file's text. Throws one line naming the line that is not in the kernel's format. */
export function parseQueueStats(text: string): QueueProcStats[] {
  const out: QueueProcStats[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const f = line.split(/\s+/);
    if (f.length !== FIELD_COUNT || !f.every((x) => INTEGER.test(x))) {
      throw new Error(`${NFQUEUE_PROC_PATH} line ${i + 1} is not ${FIELD_COUNT} integers as this kernel's nfnetlink_queue writes them: "${line}"`);
    }
    const n = f.map((x) => Number(x) >>> 0);
    out.push({
      queueNum: n[0],
      peerPortId: n[1],
      queueTotal: n[2],
      copyMode: n[3],
      copyRangeBytes: n[4],
      queueDropped: n[5],
      userDropped: n[6],
      idSequence: n[7],
    });
  }
  return out;
}

/**
 * The line of queue `queueNum`, or null when that queue is not bound (in this network namespace).
 * `text` is the file's content when the caller read it already (elsewhere, e.g. inside another
 * namespace); otherwise the file is read now, and a missing or unreadable file throws one line saying why.
 */
export function readQueueStats(queueNum: number, text?: string): QueueProcStats | null {
  const content = text ?? readProcFile();
  for (const s of parseQueueStats(content)) if (s.queueNum === queueNum) return s;
  return null;
}

function readProcFile(): string {
  try {
    return readFileSync(NFQUEUE_PROC_PATH, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new Error(`${NFQUEUE_PROC_PATH} does not exist: this kernel has no nfnetlink_queue (CONFIG_NETFILTER_NETLINK_QUEUE), or /proc is not mounted`);
    }
    if (code === 'EACCES' || code === 'EPERM') throw new Error(`${NFQUEUE_PROC_PATH} is readable by root only: run as root`);
    throw new Error(`cannot read ${NFQUEUE_PROC_PATH}: ${(e as Error).message}`);
  }
}
