/**
 * Byte counts per 100 ms bin, the receivers' record of a run, and the rate read back out of them.
 * Bin i holds what arrived in [i * 100, (i + 1) * 100) ms after the first byte, so a sender's and its
 * processes' startup never shows as a slow first second; bins with nothing in them are zeros, never
 * missing, up to the last byte.
 */

export const BIN_MS = 100;

export class ByteBins {
  /** performance.now() of the first byte, or -1 before it. */
  private firstMs = -1;
  private lastMs = -1;
  private readonly bins: number[] = [];
  private total = 0;

  /** Counts `bytes` arriving at `nowMs` (performance.now()). Allocates only when a new bin opens. */
  add(nowMs: number, bytes: number): void {
    if (this.firstMs < 0) this.firstMs = nowMs;
    this.lastMs = nowMs;
    const bin = Math.floor((nowMs - this.firstMs) / BIN_MS);
    while (this.bins.length <= bin) this.bins.push(0);
    this.bins[bin] += bytes;
    this.total += bytes;
  }

  get bytes(): number {
    return this.total;
  }

  get binsBytes(): number[] {
    return this.bins;
  }

  /**
   * When the first byte arrived as Unix time in ms (performance.timeOrigin + its performance.now()),
   * comparable across the agents' processes; -1 before it.
   */
  get firstByteAtMs(): number {
    return this.firstMs < 0 ? -1 : performance.timeOrigin + this.firstMs;
  }

  /** Milliseconds from the first byte to the last (0 before two arrivals). */
  get spanMs(): number {
    return this.firstMs < 0 ? 0 : this.lastMs - this.firstMs;
  }
}

/**
 * Goodput in bits/s over [fromMs, toMs) after the first byte, from 100 ms bins. Both bounds are
 * multiples of BIN_MS; bins past the end of the record count as zero (nothing arrived then).
 */
export function goodputBps(result: { binsBytes: readonly number[] }, fromMs: number, toMs: number): number {
  if (!(fromMs >= 0 && toMs > fromMs && fromMs % BIN_MS === 0 && toMs % BIN_MS === 0)) {
    throw new Error(`goodput window ${fromMs}..${toMs} ms: want 0 <= from < to, both multiples of ${BIN_MS} ms`);
  }
  let bytes = 0;
  for (let i = fromMs / BIN_MS; i < toMs / BIN_MS; i++) bytes += result.binsBytes[i] ?? 0;
  return (bytes * 8 * 1000) / (toMs - fromMs);
}

/** A millisecond figure rounded to the microsecond, for result lines. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Several receivers' bins added up on one timeline that starts at the earliest first byte, each
 * shifted by when its own first byte came (to the nearest bin). The sum of each receiver's goodput
 * over its own window is not the aggregate: agents that start a second apart measure different
 * seconds, and a flow that ran alone before the others started shows a rate above its share.
 */
export function alignedBins(results: readonly { binsBytes: readonly number[]; firstByteAtMs: number }[]): { binsBytes: number[] } {
  const started = results.filter((r) => r.firstByteAtMs >= 0);
  const t0 = Math.min(...started.map((r) => r.firstByteAtMs));
  const binsBytes: number[] = [];
  for (const r of started) {
    const offset = Math.round((r.firstByteAtMs - t0) / BIN_MS);
    r.binsBytes.forEach((bytes, i) => {
      while (binsBytes.length <= offset + i) binsBytes.push(0);
      binsBytes[offset + i] += bytes;
    });
  }
  return { binsBytes };
}
