/**
 * The traffic generator's arithmetic, without processes or namespaces: 100 ms byte bins from the
 * first arrival, goodput over a window of them, nearest-rank percentiles of round trips, and the
 * constant-rate schedule with catch-up and a hard stop.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { alignedBins, BIN_MS, ByteBins, goodputBps } from '../../src/lab/traffic/bins.js';
import { Pacer, runPaced } from '../../src/lab/traffic/pacer.js';
import { percentile, summarizeRtts } from '../../src/lab/traffic/stats.js';

describe('byte bins', () => {
  it('start at the first byte and put each arrival in its 100 ms bin, zeros in between', () => {
    const bins = new ByteBins();
    bins.add(5000, 10); // the first byte: bin 0 starts here, however late the run began
    bins.add(5099.9, 5);
    bins.add(5100, 7);
    bins.add(5350, 1);
    assert.deepEqual(bins.binsBytes, [15, 7, 0, 1]);
    assert.equal(bins.bytes, 23);
    assert.equal(bins.spanMs, 350);
  });

  it('are empty with no span before anything arrives', () => {
    const bins = new ByteBins();
    assert.deepEqual(bins.binsBytes, []);
    assert.equal(bins.spanMs, 0);
  });
});

describe('alignedBins', () => {
  it('adds receivers up on one timeline from the earliest first byte, each shifted to its own start', () => {
    const early = { binsBytes: [10, 10, 10], firstByteAtMs: 1_000_000 };
    const late = { binsBytes: [5, 5], firstByteAtMs: 1_000_000 + 2 * BIN_MS + 30 }; // rounds to 2 bins later
    const silent = { binsBytes: [], firstByteAtMs: -1 };
    assert.deepEqual(alignedBins([late, silent, early]).binsBytes, [10, 10, 15, 5]);
  });

  it('is the sum a window of the aggregate reads, unlike the sum of each receiver\'s own window', () => {
    // One flow alone at 2 units a bin for 5 bins, then sharing with a second: 1 unit each.
    const first = { binsBytes: [2, 2, 2, 2, 2, 1, 1, 1, 1, 1], firstByteAtMs: 0 };
    const second = { binsBytes: [1, 1, 1, 1, 1], firstByteAtMs: 5 * BIN_MS };
    const own = goodputBps(first, 200, 500) + goodputBps(second, 200, 500);
    assert.equal(goodputBps(alignedBins([first, second]), 200, 500), goodputBps({ binsBytes: [2, 2, 2] }, 0, 300));
    assert.ok(own > goodputBps(alignedBins([first, second]), 200, 500));
  });
});

describe('goodputBps', () => {
  const result = { binsBytes: [1000, 125_000, 125_000, 250_000] };

  it('is the bits per second over the bins of the window', () => {
    assert.equal(BIN_MS, 100);
    assert.equal(goodputBps(result, 100, 300), 10_000_000); // 250 kB in 0.2 s
    assert.equal(goodputBps(result, 300, 400), 20_000_000);
    assert.equal(goodputBps(result, 0, 100), 80_000);
  });

  it('counts bins past the end of the record as nothing received', () => {
    assert.equal(goodputBps(result, 300, 500), 10_000_000);
  });

  it('refuses windows that are empty, reversed or not on bin boundaries', () => {
    assert.throws(() => goodputBps(result, 100, 100), /goodput window 100\.\.100 ms/);
    assert.throws(() => goodputBps(result, 300, 100), /want 0 <= from < to/);
    assert.throws(() => goodputBps(result, 150, 300), /multiples of 100 ms/);
    assert.throws(() => goodputBps(result, -100, 300), /goodput window/);
  });
});

describe('round-trip percentiles', () => {
  const oneToHundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('are nearest-rank: always one of the samples', () => {
    assert.equal(percentile(oneToHundred, 50), 50);
    assert.equal(percentile(oneToHundred, 90), 90);
    assert.equal(percentile(oneToHundred, 99), 99);
    assert.equal(percentile(oneToHundred, 100), 100);
    assert.equal(percentile(oneToHundred, 0), 1);
    assert.equal(percentile([7, 9], 50), 7);
    assert.ok(Number.isNaN(percentile([], 50)));
  });

  it('summarize unsorted samples without reordering them', () => {
    const rtts = [900, 100, 500, 300, 700];
    assert.deepEqual(summarizeRtts(rtts), { p50Us: 500, p90Us: 900, p99Us: 900, maxUs: 900 });
    assert.deepEqual(rtts, [900, 100, 500, 300, 700]);
    assert.ok(Number.isNaN(summarizeRtts([]).maxUs));
  });
});

describe('pacer', () => {
  it('spreads the events evenly, the first at the start, never more than the total', () => {
    const pacer = new Pacer(100, 1000); // one every 10 ms
    pacer.start(2000);
    assert.equal(pacer.due(2000), 1);
    assert.equal(pacer.due(2009.9), 1);
    assert.equal(pacer.due(2010), 2);
    assert.equal(pacer.due(2995), 100);
    assert.equal(pacer.due(9000), 100);
  });

  it('sleeps until the next event is due, at least Node’s 1 ms', () => {
    const pacer = new Pacer(100, 1000);
    pacer.start(0);
    assert.equal(pacer.waitMs(1, 0), 10);
    assert.equal(pacer.waitMs(5, 12.5), 37);
    assert.equal(pacer.waitMs(3, 50), 1); // behind: catch up at once
  });

  it('runs every event on schedule and stops when all are done', async () => {
    const times: number[] = [];
    const run = await runPaced(new Pacer(20, 200), 10_000, (i) => {
      assert.equal(i, times.length);
      times.push(performance.now());
      return true;
    });
    assert.equal(run.done, 20);
    assert.equal(times.length, 20);
    const spanMs = times[19] - times[0];
    assert.ok(spanMs >= 185 && spanMs < 400, `20 events 10 ms apart took ${spanMs} ms`);
    assert.equal(run.firstMs <= times[0] && run.lastMs >= times[19], true);
  });

  it('catches up in batches when far behind, and stops at its deadline when it cannot send', async () => {
    const many = await runPaced(new Pacer(5000, 50), 10_000, () => true);
    assert.equal(many.done, 5000);
    const started = performance.now();
    const blocked = await runPaced(new Pacer(1000, 100), 150, () => false);
    const tookMs = performance.now() - started;
    assert.equal(blocked.done, 0);
    assert.ok(tookMs >= 149 && tookMs < 1000, `a blocked run took ${tookMs} ms to give up`);
  });
});
