import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { detect, L7Result } from '../../../src/classify/l7/index.js';
import { bittorrentHandshake, clientHelloRecord, dhtPing, dnsQuery, rng, rtpPacket, sshBanner, stunBindingRequest, utpOpening } from './payloads.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('detect allocates nothing per call when no host is extracted (no GC in 3 million calls)', async () => {
  const next = rng(5);
  const random = Buffer.alloc(600);
  for (let i = 0; i < random.length; i++) random[i] = next() & 0xff;
  const cases: [Buffer, 6 | 17][] = [
    [clientHelloRecord(null, 200), 6],
    [Buffer.from('GET / HTTP/1.0\r\nAccept: */*\r\n\r\n'), 6],
    [sshBanner(), 6],
    [bittorrentHandshake(), 6],
    [random, 6],
    [dnsQuery('www.example.com', true), 17],
    [dhtPing(), 17],
    [utpOpening(true), 17],
    [stunBindingRequest(), 17],
    [rtpPacket(), 17],
    [random, 17],
  ];
  const out = new L7Result();
  const bufs = cases.map((c) => c[0]);
  const protos = cases.map((c) => c[1]);
  const run = (calls: number): number => {
    let sink = 0;
    for (let i = 0; i < calls; i++) {
      const k = i % bufs.length;
      sink += detect(bufs[k], 0, bufs[k].length, protos[k], (i & 1) === 0, out);
    }
    return sink;
  };
  run(200_000); // let the JIT settle: compilation allocates
  let collections = 0;
  let startMs = Infinity; // the forced gc() below reports late: count only collections after the calls begin
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (entry.startTime >= startMs) collections++;
  });
  observer.observe({ entryTypes: ['gc'] });
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  startMs = performance.now();
  // 3 million calls: even one 16-byte object per call (48 MB) would force several scavenges.
  assert.ok(run(3_000_000) > 0);
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 20));
  observer.disconnect();
  assert.equal(collections, 0, `${collections} garbage collections during the calls`);
});
