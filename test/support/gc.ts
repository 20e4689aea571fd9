/**
 * How many garbage collections happen while `run` executes: the test of "no allocation per
 * packet". A few million iterations that each allocated even 16 bytes would fill the young
 * generation several times over, so a count of 0 or 1 (a collection already due) means the loop
 * allocates nothing. Not a test file itself (no .test.ts suffix).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * A full collection first, so that no collection is already due from what ran before (setup, an
 * earlier test in the same file): the count is then the loop's own.
 */
export async function collectionsDuring(run: () => void): Promise<number> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
  let collections = 0;
  const observer = new PerformanceObserver((list) => {
    collections += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  // Let collections that were already under way report before counting starts.
  await new Promise((resolve) => setImmediate(resolve));
  const before = collections;
  run();
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return collections - before;
}

/**
 * Heap bytes `run` leaves allocated, from a full collection before it, and the collections during
 * it. With no collection during the run, the growth is what it allocated (garbage included): a loop
 * of N iterations that allocates nothing grows the heap by far less than N bytes, where counting
 * collections alone lets several bytes per iteration through (a young generation holds megabytes).
 */
export async function allocatedDuring(run: () => void): Promise<{ bytes: number; collections: number }> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
  let collections = 0;
  const observer = new PerformanceObserver((list) => {
    collections += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  await new Promise((resolve) => setImmediate(resolve));
  const before = collections;
  const heapBefore = process.memoryUsage().heapUsed;
  run();
  const heapAfter = process.memoryUsage().heapUsed;
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return { bytes: heapAfter - heapBefore, collections: collections - before };
}
