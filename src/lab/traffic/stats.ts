/**
 * Summaries of measured round trips: nearest-rank percentiles (the value below which p% of the
 * samples lie, always one of the samples, so no interpolation invents a figure) and the maximum.
 */

export interface RttSummary {
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
}

/** Nearest-rank percentile of ascending `sortedUs`; NaN when there are no samples. */
export function percentile(sortedUs: readonly number[], p: number): number {
  if (sortedUs.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sortedUs.length);
  return sortedUs[Math.min(sortedUs.length, Math.max(1, rank)) - 1];
}

export function summarizeRtts(rttsUs: readonly number[]): RttSummary {
  const sorted = [...rttsUs].sort((a, b) => a - b);
  return {
    p50Us: percentile(sorted, 50),
    p90Us: percentile(sorted, 90),
    p99Us: percentile(sorted, 99),
    maxUs: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1],
  };
}
