/**
 * The flow table's two per-slot records. A lookup is bound by cache misses once the table outgrows
 * L2: with one typed array per field every field a packet touches costs its own miss, so the fields
 * a packet reads or writes are packed into two 64-byte records per slot instead:
 *
 * - the key record (Int32Array, KEY_STRIDE ints): what a lookup compares, the list links, the TCP
 *   state and the generation;
 * - the stats record (Float64Array, STATS_STRIDE doubles): counters and times that every packet
 *   updates, the time the flow was last linked into its idle list, and the two address hashes (as
 *   int32s through an Int32Array view of the same buffer, INT_PER_STAT ints per double).
 *
 * A packet on a known flow touches the bucket, the key record and the stats record: three lines.
 * Fields set once per flow and read rarely (classId, attrs) stay one array per field.
 */

/** Int32 key record, 16 ints (64 bytes) per slot. */
export const KEY_STRIDE = 16;
/** The flow hash (as stored in the index). */
export const K_HASH = 0;
/** proto | ipVersion << 8. */
export const K_PROTO = 1;
/** initiator port << 16 | responder port. */
export const K_PORTS = 2;
/** Idle-list links and list number (see lru.ts). */
export const K_PREV = 3;
export const K_NEXT = 4;
export const K_LIST = 5;
/** TcpState. */
export const K_TCP = 6;
/** Generation of the slot (uint32 stored as int32): bumped when its flow is removed. */
export const K_GEN = 7;
/** Initiator address words [8, 12), responder address words [12, 16). */
export const K_INIT = 8;
export const K_RESP = 12;

/** Float64 stats record, 8 doubles (64 bytes) per slot. */
export const STATS_STRIDE = 8;
/** IP bytes and packets initiator→responder; S_ORIG_BYTES + 1 is the packet count. */
export const S_ORIG_BYTES = 0;
export const S_ORIG_PACKETS = 1;
/** IP bytes and packets responder→initiator; S_REPLY_BYTES + 1 is the packet count. */
export const S_REPLY_BYTES = 2;
export const S_REPLY_PACKETS = 3;
/** First and last packet, µs. */
export const S_FIRST_SEEN_US = 4;
export const S_LAST_SEEN_US = 5;
/** When the flow was last linked at its idle list's tail, µs (see idle-order.ts). */
export const S_LINKED_US = 6;
/** Int32 index in the stats record (via an Int32Array view) of the initiator's address hash; the responder's follows. */
export const SI_ADDR_HASH = 14;
/** Int32s per stats record. */
export const STATS_INT_STRIDE = 16;
