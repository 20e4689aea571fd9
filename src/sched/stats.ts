/**
 * Reading a scheduler's counters as plain objects (status, simulator reports, metrics). Not on the
 * packet path: it allocates freely. Inner classes report what their subtree sent and hold.
 */
import type { Scheduler } from './scheduler.js';
import { DROP_REASONS, type ClassStats } from './types.js';

export function classStats(s: Scheduler, nowUs: number): ClassStats[] {
  const out: ClassStats[] = [];
  const tree = s.tree;
  for (let c = 0; c < s.classCount; c++) {
    s.foldRate(c, nowUs);
    const k = s.cfg.classes[c];
    let backlogPackets = 0;
    let backlogBytes = 0;
    let activeSubqueues = 0;
    const dropped = new Array<number>(DROP_REASONS).fill(0);
    let ecnMarked = 0;
    const end = tree.subtreeEnd[c];
    for (let i = tree.subtreeStart[c]; i < end; i++) {
      const leaf = tree.leafOrder[i];
      backlogPackets += s.backlogPackets[leaf];
      backlogBytes += s.backlogBytes[leaf];
      activeSubqueues += s.activeSubqueues(leaf);
      for (let r = 0; r < DROP_REASONS; r++) dropped[r] += s.drops[leaf * DROP_REASONS + r];
      ecnMarked += s.ecnMarked[leaf];
    }
    const isLeaf = tree.isLeaf[c] === 1;
    out.push({
      path: k.path,
      isLeaf,
      rateBps: k.rateBps,
      ceilBps: k.ceilBps,
      prio: k.prio,
      sentBytes: s.sentBytes[c],
      sentPackets: s.sentPackets[c],
      dropped,
      ecnMarked,
      backlogPackets,
      backlogBytes,
      currentBps: s.rateBps[c],
      ownBytes: s.ownBytes[c],
      borrowedBytes: s.borrowedBytes[c],
      lentBytes: s.lentBytes[c],
      activeSubqueues,
      sojournP50Us: isLeaf ? s.sojourn.quantile(c, 0.5) : 0,
      sojournP99Us: isLeaf ? s.sojourn.quantile(c, 0.99) : 0,
    });
  }
  return out;
}
