/**
 * The flow table's key record: the fields a lookup compares or relinks, packed into one 64-byte
 * record per slot in one Int32Array instead of one array per field. A lookup is bound by cache
 * misses once the table outgrows L2 (perf shows the bucket load and the first record compare as its
 * top stalls); with one array per field the key alone touched eight lines, packed it touches one.
 * Counters and times stay one Float64Array per field (other stages read them by id), as do fields
 * set once per flow (classId, generation, attrs, address hashes).
 */

/** Int32 key record, 16 ints (64 bytes) per slot: everything a lookup compares or relinks. */
export const KEY_STRIDE = 16;
/** The flow hash (as stored in the index). */
export const K_HASH = 0;
/** proto | ipVersion << 8. */
export const K_PROTO = 1;
/** initiator port << 16 | responder port. */
export const K_PORTS = 2;
/** LRU links and list number (see lru.ts). */
export const K_PREV = 3;
export const K_NEXT = 4;
export const K_LIST = 5;
/** TcpState. */
export const K_TCP = 6;
/** Initiator address words [8, 12), responder address words [12, 16). */
export const K_INIT = 8;
export const K_RESP = 12;
