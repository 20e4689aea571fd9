/**
 * The kinds of event the simulator's queue carries, and what each event's numeric argument means.
 * The datapath handles packet events; the runner handles wakes and source timers.
 */
export const enum EventKind {
  /** A packet reaches sluice (argument: slot). */
  ARRIVE = 0,
  /** An accepted packet reaches the far end of the link (argument: slot). */
  DELIVER = 1,
  /** The sender of a dropped packet learns of the loss (argument: slot). */
  LOSS = 2,
  /** The engine has a packet becoming eligible (argument unused). */
  WAKE = 3,
  /** A source's own timer (argument: source instance index). */
  SOURCE = 4,
  /** A reply that bypasses the shaper (the reverse direction is not shaped) reaches its receiver (argument: slot). */
  BYPASS = 5,
}
