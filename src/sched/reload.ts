/**
 * Building a scheduler from a changed configuration while keeping what was queued: packets of
 * classes that still exist (same path, still a leaf) keep their sub-queue and enqueue time; packets
 * of classes that vanished (or became inner classes) go to the new default class. Counters, class
 * and link token buckets and delay histograms of classes whose path survives carry over, so a reload
 * neither resets figures nor grants a class or the link a fresh burst. Sub-queues start afresh: their
 * CoDel state and per-flow ceiling buckets (flow_ceil) do not carry over — a capped flow may send one
 * flow burst early after a reload. Limits of the new configuration apply at once: what no longer fits
 * is dropped (in `dropped`, for the caller to verdict).
 */
import { Scheduler } from './scheduler.js';
import { DROP_REASONS, type LinkSchedConfig } from './types.js';

export function rebuildScheduler(cfg: LinkSchedConfig, old: Scheduler, nowUs: number): Scheduler {
  const next = new Scheduler(cfg, Math.max(cfg.globalLimitPackets, old.totalPackets) + 1);
  next.startAt(nowUs);
  const counters = [
    'sentBytes',
    'sentPackets',
    'ecnMarked',
    'ownBytes',
    'borrowedBytes',
    'lentBytes',
    'rateBps',
    'rateMarkBytes',
    'rateSinceUs',
  ] as const;
  for (let o = 0; o < old.classCount; o++) {
    const c = next.classIndex(old.cfg.classes[o].path);
    if (c < 0) continue;
    for (const name of counters) next[name][c] = old[name][o];
    for (let r = 0; r < DROP_REASONS; r++) next.drops[c * DROP_REASONS + r] = old.drops[o * DROP_REASONS + r];
    next.sojourn.copyRow(c, old.sojourn, o);
    const t = next.tree;
    t.tokensUs[c] = Math.min(old.tree.tokensUs[o], t.burstUs[c]);
    t.ctokensUs[c] = Math.min(old.tree.ctokensUs[o], t.cburstUs[c]);
    t.checkedUs[c] = old.tree.checkedUs[o];
    t.mode[c] = t.modeOf(c);
  }
  next.linkTokensUs = Math.min(old.linkTokensUs, next.linkTokensUs);
  for (let o = 0; o < old.classCount; o++) {
    if (!old.isLeaf(o)) continue;
    const same = next.classIndex(old.cfg.classes[o].path);
    const target = same >= 0 && next.isLeaf(same) ? same : cfg.defaultClass;
    old.forEachQueued(o, (handle, key, wireBytes, ect, enqueuedUs) => {
      next.adopt(handle, target, key, wireBytes, ect, enqueuedUs);
    });
  }
  next.enforceLimits(nowUs);
  // Classes that start over their rate or ceiling get their wake-up timers and leaves their groups.
  next.resync(nowUs);
  return next;
}
