/** Protocol detection (l7) over a flow's first payload bytes, and payload entropy: the public surface. */
export { detect, PROTO_TCP, PROTO_UDP } from './detect.js';
export { entropyBits } from './entropy.js';
export { L7Result, L7Verdict, L7_MAX_BYTES, L7_MAX_PACKETS } from './types.js';
export type { L7Protocol } from './types.js';
export { L7Tracker, L7_PENDING, FLOW_MAX_PACKETS, FLOW_MAX_PAYLOAD_PACKETS } from './tracker.js';
export type { L7TrackerOptions, L7TrackerStats } from './tracker.js';
