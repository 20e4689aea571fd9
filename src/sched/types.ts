/**
 * The scheduler's configuration: plain numeric data, already resolved from what a person wrote
 * (units parsed, percentages applied, per-direction figures picked) by src/control. One
 * LinkSchedConfig describes one direction of one link; the engine builds one Scheduler per
 * (link, direction). Units: rates in bits per second, sizes in bytes, times in microseconds.
 */

/** How a leaf class splits its traffic into sub-queues served by deficit round robin. */
export type Fairness = 'flow' | 'src-host' | 'dst-host' | 'hosts' | 'none';

export interface CodelConfig {
  /** Acceptable standing queue delay, µs (RFC 8289 default 5 ms). */
  targetUs: number;
  /** Window over which the delay must stay above target before dropping, µs (default 100 ms). */
  intervalUs: number;
  /** Mark ECN-capable packets CE instead of dropping them. */
  ecn: boolean;
}

export interface ClassConfig {
  /** Slash-separated path from the top: 'torrents/fred'. Unique; identity across reloads. */
  path: string;
  /** Index of the parent in LinkSchedConfig.classes, or -1 for a class directly under the link. */
  parent: number;
  /** Guaranteed rate, bits/s. */
  rateBps: number;
  /** Maximum rate including borrowing, bits/s (>= rateBps). */
  ceilBps: number;
  /** Bytes that may be sent at once above rate / ceil after an idle period. */
  burstBytes: number;
  cburstBytes: number;
  /** 0..7, lower is served first when sharing excess bandwidth. */
  prio: number;
  /** Bytes a class may send per round when it shares excess with classes of equal prio (its weight). */
  quantumBytes: number;
  /** Leaves only: how sub-queues are formed. */
  fairness: Fairness;
  /** Leaves only: cap per sub-queue, bits/s; 0 for none. */
  flowCeilBps: number;
  codel: CodelConfig;
  /** Leaves only: the class's queue limit. */
  limitPackets: number;
  limitBytes: number;
  /** Leaves only: the most packets one sub-queue may hold; 0 for no limit beyond the class's. */
  flowLimitPackets: number;
}

export interface LinkSchedConfig {
  /** The link's rate in this direction, bits/s: a hard cap on everything below. */
  rateBps: number;
  /** Largest IP packet expected, bytes (used for minimum bursts and CoDel's low-rate target). */
  mtuBytes: number;
  /** Classes in tree order: a parent always comes before its children. */
  classes: ClassConfig[];
  /** Index of the leaf that takes traffic no rule claims (and the backlog of classes removed on reload). */
  defaultClass: number;
  /** One buffer for the whole link direction. */
  globalLimitPackets: number;
  globalLimitBytes: number;
  /** Most sub-queues that may exist at once across all leaves. */
  maxSubqueues: number;
}

/** Why a packet was dropped. Counted per class. */
export const enum DropReason {
  CODEL = 0,
  CLASS_LIMIT = 1,
  GLOBAL_LIMIT = 2,
  FLOW_LIMIT = 3,
  /** Dropped on arrival by the class's `drop: true` action (counted by the caller, never queued). */
  ACTION = 4,
}
export const DROP_REASON_NAMES = ['codel', 'class_limit', 'global_limit', 'flow_limit', 'action'] as const;
export const DROP_REASONS = 5;

/** Counters of one class, as read by status and the simulator. */
export interface ClassStats {
  path: string;
  isLeaf: boolean;
  rateBps: number;
  ceilBps: number;
  prio: number;
  sentBytes: number;
  sentPackets: number;
  /** Dropped packets by reason, indexed by DropReason. */
  dropped: number[];
  /** Packets marked CE by CoDel instead of being dropped. */
  ecnMarked: number;
  backlogPackets: number;
  backlogBytes: number;
  /** Estimated current rate, bits/s (exponentially weighted over about a second). */
  currentBps: number;
  /** Bytes this class sent on its own rate (while within it), and bytes it sent borrowed from an ancestor. */
  ownBytes: number;
  borrowedBytes: number;
  /** Bytes this class lent to descendants sending above their own rate. */
  lentBytes: number;
  /** Sub-queues currently holding packets. */
  activeSubqueues: number;
  /** Queueing delay (sojourn) percentiles of packets sent, µs; 0 when none was sent. */
  sojournP50Us: number;
  sojournP99Us: number;
}
