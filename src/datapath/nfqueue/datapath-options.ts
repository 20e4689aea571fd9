/**
 * The NFQUEUE datapath's options, its packet classifier's signature and its counters: what a caller
 * of NfqueueDatapath (src/datapath/nfqueue/datapath.ts) writes and reads, apart from the Datapath contract.
 */
import type { Direction } from '../types.js';

/** Where a queued packet belongs. Return shared objects from the classifier: it runs per packet. */
export interface PacketPlace {
  link: number;
  direction: Direction;
}

/**
 * Maps a packet's netfilter hook (NF_INET_*) and interface indexes (0 when absent) to its link and
 * direction; null lets the packet go at once, unshaped.
 */
export type PacketClassifier = (hook: number, indev: number, outdev: number) => PacketPlace | null;

export interface NfqueueOpenOptions {
  queueNum: number;
  /** The most packets the kernel holds for the queue (NFQA_CFG_QUEUE_MAXLEN). */
  maxlenPackets: number;
  /** Held-packet slots (memory: slotCount x slotBytes); maxlenPackets by default, which the kernel never exceeds. */
  slotCount?: number;
  /** NFQA_CFG_F_FAIL_OPEN: when the queue is full the kernel accepts instead of dropping. */
  failOpen: boolean;
  classify: PacketClassifier;
  /** Bytes of each packet copied to us; 65535 (whole packets) by default. */
  copyRangeBytes?: number;
  /** Socket receive buffer; 8 MiB by default. */
  receiveBufferBytes?: number;
  /** Datagrams per recvmmsg; 64 by default. */
  recvBatchCount?: number;
  /** Most packets one receive() delivers; 256 by default. */
  batchCapacity?: number;
  /** Bytes per held-packet slot; 2048 by default (longer packets get a buffer of their own). */
  slotBytes?: number;
  /** Verdict send buffer; 128 KiB by default (at least one full-size verdict). */
  sendBufferBytes?: number;
  /** An eventfd (EFD_NONBLOCK) whose readability also ends receive()'s sleep; owned by the caller. */
  wakeFd?: number;
}

export class NfqueueCounters {
  /** Packet messages taken from the kernel. */
  received = 0;
  accepted = 0;
  dropped = 0;
  /** Accepts that sent new bytes (acceptRewritten, or accept with a payload). */
  rewritten = 0;
  /** Verdicts for handles not held (already released, or never seen): ignored. */
  unknownVerdicts = 0;
  /** Packets the classifier returned null for: accepted at once. */
  unclassified = 0;
  /** Packets that found no free slot or no room in the batch: given the fail verdict at once. */
  overflow = 0;
  /** Messages that could not be decoded, and datagrams cut short (MSG_TRUNC). */
  malformed = 0;
  /** NFQNL_MSG_VERDICT_BATCH messages sent: each accepted a run of the oldest held packets. */
  batchVerdicts = 0;
  /** send() calls of verdict buffers, and those that failed (lastSendErrno says why). */
  sends = 0;
  sendErrors = 0;
  lastSendErrno = 0;
  /** NLMSG_ERRORs with a non-zero errno received after setup (e.g. ENOENT for a stale verdict). */
  kernelErrors = 0;
  lastKernelErrno = 0;
  /** recvmmsg failures (other than nothing waiting). */
  receiveErrors = 0;
}
