/**
 * runLoop against a fake engine and datapath: how long it asks the datapath to sleep (until the
 * engine's next departure, at most MAX_WAIT_US, never negative), that only non-empty batches reach
 * the engine, that pump follows every receive, that it stops when asked, and that it gives the
 * event loop turns while busy (so signal handlers and timers run).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PacketBatch } from '../../../src/datapath/types.js';
import { monotonicUs } from '../../../src/datapath/nfqueue/datapath.js';
import { DEPARTURE_SLACK_US, MAX_WAIT_US, runLoop, type LoopDatapath, type LoopEngine } from '../../../src/datapath/nfqueue/run-loop.js';

function emptyBatch(): PacketBatch {
  return {
    count: 0, handles: new Uint32Array(4), links: new Uint16Array(4), directions: new Uint8Array(4), arrivalUs: new Float64Array(4),
    marks: new Uint32Array(4), uids: new Int32Array(4), gids: new Int32Array(4), inIfindex: new Uint32Array(4), outIfindex: new Uint32Array(4), buffers: [], offsets: new Uint32Array(4), lengths: new Uint32Array(4),
  };
}

describe('runLoop', () => {
  it('sleeps until the next departure (and DEPARTURE_SLACK_US), at most MAX_WAIT_US and never below 0, and hands only non-empty batches to the engine', async () => {
    const batch = emptyBatch();
    const waits: number[] = [];
    const received: number[] = [];
    const calls: string[] = [];
    // What pump answers, in order: the next departure relative to now.
    const nextIn = [Infinity, 3_000, -5_000, 200_000, 10];
    let pumps = 0;
    const engine: LoopEngine = {
      receive: (b) => {
        received.push(b.count);
        calls.push('receive');
      },
      pump: (nowUs) => {
        calls.push('pump');
        const d = nextIn[Math.min(pumps++, nextIn.length - 1)];
        return nowUs + d;
      },
    };
    let n = 0;
    const datapath: LoopDatapath = {
      receive: (timeoutUs) => {
        waits.push(timeoutUs);
        calls.push('dp');
        batch.count = n++ % 2; // every other batch has one packet
        return batch;
      },
    };
    const counters = await runLoop(engine, datapath, { shouldStop: () => waits.length >= 4 });
    assert.equal(waits.length, 4);
    assert.equal(waits[0], MAX_WAIT_US, 'nothing queued: the longest sleep');
    assert.ok(waits[1] > 2_000 + DEPARTURE_SLACK_US && waits[1] <= 3_000 + DEPARTURE_SLACK_US, `next departure in 3 ms: sleep that and the slack, ${waits[1]}`);
    assert.equal(waits[2], 0, 'a departure already due: just look');
    assert.equal(waits[3], MAX_WAIT_US, 'a departure beyond MAX_WAIT_US: sleep at most that');
    assert.deepEqual(received, [1, 1]);
    assert.deepEqual(calls, ['pump', 'dp', 'pump', 'dp', 'receive', 'pump', 'dp', 'pump', 'dp', 'receive', 'pump']);
    assert.equal(counters.iterations, 4);
    assert.equal(counters.batches, 2);
  });

  it('gives the event loop turns while busy, so a timer can stop it', async () => {
    const batch = emptyBatch();
    let iterations = 0;
    const engine: LoopEngine = { receive: () => undefined, pump: (nowUs) => nowUs };
    const datapath: LoopDatapath = {
      receive: () => {
        if (++iterations > 50_000_000) throw new Error('the loop never yielded to the event loop');
        return batch;
      },
    };
    let stop = false;
    const t0 = monotonicUs();
    setTimeout(() => (stop = true), 30);
    await runLoop(engine, datapath, { shouldStop: () => stop });
    const tookMs = (monotonicUs() - t0) / 1000;
    assert.ok(tookMs >= 25 && tookMs < 500, `stopped after ${tookMs} ms`);
    assert.ok(iterations > 100, 'the loop ran busily meanwhile');
  });

  it('passes on what the datapath throws', async () => {
    const engine: LoopEngine = { receive: () => undefined, pump: () => Infinity };
    const datapath: LoopDatapath = {
      receive: () => {
        throw new Error('socket gone');
      },
    };
    await assert.rejects(runLoop(engine, datapath, { shouldStop: () => false }), /socket gone/);
  });
});
