/**
 * Text tables for people: columns aligned, two spaces apart, trailing spaces trimmed. Used by
 * `sluice check` (the class tree, describe.ts) and the simulation report (sim/format-report.ts).
 */

/** One string per row; a column is right-aligned when `rightAligned[column]` is true, else left-aligned. */
export function table(rows: string[][], rightAligned: readonly boolean[] = []): string[] {
  const widths: number[] = [];
  for (const cells of rows) cells.forEach((cell, c) => (widths[c] = Math.max(widths[c] ?? 0, cell.length)));
  return rows.map((cells) =>
    cells.map((cell, c) => (rightAligned[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
}
