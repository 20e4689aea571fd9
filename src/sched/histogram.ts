/**
 * Log-linear histograms of queueing delay (sojourn), one row per class, for percentiles without
 * keeping samples. Each power of two of microseconds is split into 8 sub-buckets, so a reported
 * percentile is within 12.5% of the true value; recording is a few integer operations (clz32), no
 * allocation. Covers 0 µs to about 2^31 µs (35 minutes); longer delays land in the last bucket.
 */
const SUB_BITS = 3;
const SUB = 1 << SUB_BITS;
/** Values below SUB are exact (one bucket each); then 8 buckets per octave up to 2^31. */
export const HIST_BUCKETS = SUB + (31 - SUB_BITS) * SUB;

export function bucketOf(us: number): number {
  const v = us >= 2147483647 ? 2147483647 : us > 0 ? us | 0 : 0;
  if (v < SUB) return v;
  const octave = 31 - Math.clz32(v); // >= SUB_BITS
  const sub = (v >>> (octave - SUB_BITS)) & (SUB - 1);
  return SUB + (octave - SUB_BITS) * SUB + sub;
}

/** The smallest value that falls in bucket b. */
function bucketLow(b: number): number {
  if (b < SUB) return b;
  const octave = ((b - SUB) >> SUB_BITS) + SUB_BITS;
  const sub = (b - SUB) & (SUB - 1);
  return (SUB + sub) * 2 ** (octave - SUB_BITS);
}

export class SojournHistograms {
  readonly counts: Float64Array;
  readonly totals: Float64Array;

  constructor(readonly rows: number) {
    this.counts = new Float64Array(rows * HIST_BUCKETS);
    this.totals = new Float64Array(rows);
  }

  record(row: number, us: number): void {
    this.counts[row * HIST_BUCKETS + bucketOf(us)]++;
    this.totals[row]++;
  }

  /** The q-quantile (0..1) of a row, as the midpoint of its bucket; 0 when the row is empty. */
  quantile(row: number, q: number): number {
    const total = this.totals[row];
    if (total === 0) return 0;
    const want = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    const base = row * HIST_BUCKETS;
    for (let b = 0; b < HIST_BUCKETS; b++) {
      seen += this.counts[base + b];
      if (seen >= want) return b < SUB ? b : (bucketLow(b) + bucketLow(b + 1)) / 2;
    }
    return bucketLow(HIST_BUCKETS - 1);
  }

  /** Copies one row of another histogram set into a row of this one (used across reloads). */
  copyRow(to: number, from: SojournHistograms, fromRow: number): void {
    this.counts.set(from.counts.subarray(fromRow * HIST_BUCKETS, (fromRow + 1) * HIST_BUCKETS), to * HIST_BUCKETS);
    this.totals[to] = from.totals[fromRow];
  }
}
