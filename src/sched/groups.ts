/**
 * The leaves that may send now, filed by group: a group is a (level, prio) pair, index
 * level * 8 + prio (classes.ts), and the lowest non-empty group is served first. Each group is a
 * circular list of leaves in typed arrays — its head is the leaf whose DRR turn it is — and a
 * bitmask of non-empty groups finds the lowest one in a few instructions. Moving a leaf costs O(1).
 */
import { GROUPS } from './classes.js';

const NONE = -1;
const MASK_WORDS = Math.ceil(GROUPS / 32);

export class LeafGroups {
  /** Group a leaf is filed in, -1 when it is not (blocked or idle). */
  readonly groupOf: Int16Array;
  /** The leaf whose turn it is in each group, -1 when the group is empty. */
  readonly head: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly mask = new Uint32Array(MASK_WORDS);

  constructor(leaves: number) {
    this.groupOf = new Int16Array(leaves).fill(NONE);
    this.next = new Int32Array(leaves).fill(NONE);
    this.prev = new Int32Array(leaves).fill(NONE);
    this.head = new Int32Array(GROUPS).fill(NONE);
  }

  /** Files the leaf in group g (at the back of its turn order), or takes it out with g = -1. */
  set(leaf: number, g: number): void {
    const old = this.groupOf[leaf];
    if (old === g) return;
    if (old !== NONE) {
      const next = this.next[leaf];
      if (next === leaf) {
        this.head[old] = NONE;
        this.mask[old >> 5] &= ~(1 << (old & 31));
      } else {
        const prev = this.prev[leaf];
        this.next[prev] = next;
        this.prev[next] = prev;
        if (this.head[old] === leaf) this.head[old] = next;
      }
    }
    this.groupOf[leaf] = g;
    if (g === NONE) return;
    const head = this.head[g];
    if (head === NONE) {
      this.head[g] = leaf;
      this.next[leaf] = leaf;
      this.prev[leaf] = leaf;
      this.mask[g >> 5] |= 1 << (g & 31);
    } else {
      const tail = this.prev[head];
      this.next[tail] = leaf;
      this.prev[leaf] = tail;
      this.next[leaf] = head;
      this.prev[head] = leaf;
    }
  }

  /** Passes group g's turn to the next leaf. */
  rotate(g: number): void {
    this.head[g] = this.next[this.head[g]];
  }

  /** The lowest non-empty group, -1 when every group is empty. */
  lowest(): number {
    for (let w = 0; w < MASK_WORDS; w++) {
      const bits = this.mask[w];
      if (bits !== 0) return w * 32 + (31 - Math.clz32(bits & -bits));
    }
    return NONE;
  }
}
