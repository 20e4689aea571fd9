/**
 * The order in which the flow table expires and evicts flows, kept lazily so that a packet on a known
 * flow touches no other flow's record.
 *
 * One list per timeout class (timeouts.ts), threaded through the key records (lru.ts). A flow is
 * linked at its list's tail when it is created, when its class changes (a TCP state change), and when
 * a packet comes at least `slack` after it was last linked; other packets only write lastSeenUs.
 * Each list is therefore in order of linkedUs (time never goes back), and every flow keeps
 *
 *     linkedUs <= lastSeenUs < linkedUs + slack,     slack = min(timeout / 16, 1 s) of its class
 *
 * (lastSeenUs = linkedUs when slack is 0: then every packet relinks, as a strict LRU would),
 *
 * so its idle deadline (lastSeenUs + timeout) lies in [linkedUs + timeout, linkedUs + timeout + slack).
 * A busy flow is relinked about once per slack (three cache lines) instead of on every packet (the
 * strict LRU cost three extra lines per packet: its neighbours and the old tail).
 *
 * What that guarantees:
 * - expire() removes only flows whose deadline has passed (an active flow is never expired), at most
 *   maxWork per call and O(maxWork + classes) work: it takes list heads by lower-bound deadline
 *   (linkedUs + timeout); a head not yet expired closes its list for that call.
 * - A flow is expired less than `slack` after its deadline, given expire() is called often enough.
 * - Eviction (table full) takes the head with the earliest lower-bound deadline, in O(1) worst case.
 *   The evicted flow's deadline is less than `slack` (of its class) after the earliest deadline in
 *   the table: approximately the flow whose deadline comes first, exactly so when flows' packets are
 *   at least a slack apart. Across classes this still means a flood of new half-open TCP or UDP flows
 *   recycles its own kind (30 s, 60 s deadlines) before it pushes out quiet established connections.
 */
import { KEY_STRIDE, K_LIST, K_NEXT, K_PREV, STATS_STRIDE, S_LAST_SEEN_US, S_LINKED_US } from './layout.js';
import { LruLists, NO_LIST } from './lru.js';
import { TIMEOUT_CLASSES } from './timeouts.js';

/** The most a flow's linked time may lag its last packet before a packet relinks it, µs. */
const MAX_SLACK_US = 1_000_000;

/** How far a flow of this timeout may be out of deadline order, µs (see the header). */
export function relinkSlackUs(timeoutUs: number): number {
  return Math.min(timeoutUs / 16, MAX_SLACK_US);
}

export class IdleOrder {
  /** Idle timeout per TimeoutClass, µs. */
  readonly timeoutUs: Float64Array;
  /** relinkSlackUs per TimeoutClass, µs. */
  readonly slackUs: Float64Array;
  /** Lower-bound deadline of the slot soonest() last returned, µs. */
  soonestUs = 0;
  private readonly lists: LruLists;
  private readonly stats: Float64Array;

  /** Lists over the table's key records and stats records (layout.ts); every slot starts unlisted. */
  constructor(keys: Int32Array, stats: Float64Array, timeoutUs: Float64Array, slots: number) {
    this.timeoutUs = timeoutUs;
    this.slackUs = timeoutUs.map(relinkSlackUs);
    this.stats = stats;
    this.lists = new LruLists(keys, KEY_STRIDE, K_PREV, K_NEXT, K_LIST, slots, TIMEOUT_CLASSES);
  }

  /** The list (timeout class) a slot is in, or NO_LIST when it holds no flow. */
  listOf(slot: number): number {
    return this.lists.listOf(slot);
  }

  /** True when slot holds a flow. */
  isListed(slot: number): boolean {
    return this.lists.listOf(slot) !== NO_LIST;
  }

  /** Link an unlisted slot at the tail of list `list` at nowUs. */
  link(slot: number, list: number, nowUs: number): void {
    this.stats[slot * STATS_STRIDE + S_LINKED_US] = nowUs;
    this.lists.push(slot, list);
  }

  /** Move a listed slot to the tail of `list` (its own or another) at nowUs. Not every packet: see the header. */
  relink(slot: number, list: number, nowUs: number): void {
    this.stats[slot * STATS_STRIDE + S_LINKED_US] = nowUs;
    this.lists.touch(slot, list);
  }

  unlink(slot: number): void {
    this.lists.unlink(slot);
  }

  /** When the flow in a listed slot expires if no packet comes, µs. */
  deadlineUs(slot: number): number {
    return this.stats[slot * STATS_STRIDE + S_LAST_SEEN_US] + this.timeoutUs[this.lists.listOf(slot)];
  }

  /**
   * The list head with the earliest lower-bound deadline (linkedUs + timeout; sets soonestUs), skipping
   * the lists whose bit is set in skipMask; -1 when there is none. Costs one look per class.
   */
  soonest(skipMask: number): number {
    const head = this.lists.head;
    const stats = this.stats;
    const timeout = this.timeoutUs;
    let best = -1;
    let bestUs = Infinity;
    for (let c = 0; c < TIMEOUT_CLASSES; c++) {
      const s = head[c];
      if (s >= 0 && (skipMask & (1 << c)) === 0) {
        const us = stats[s * STATS_STRIDE + S_LINKED_US] + timeout[c];
        if (us < bestUs) {
          best = s;
          bestUs = us;
        }
      }
    }
    this.soonestUs = bestUs;
    return best;
  }
}
