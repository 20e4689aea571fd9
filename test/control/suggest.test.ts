import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closest, didYouMean, editDistance } from '../../src/control/suggest.js';

test('editDistance counts insertions, deletions, substitutions and neighbour swaps as one edit each', () => {
  assert.equal(editDistance('fairness', 'fairness'), 0);
  assert.equal(editDistance('fairnes', 'fairness'), 1);
  assert.equal(editDistance('kbti', 'kbit'), 1);
  assert.equal(editDistance('Egress', 'egress'), 0);
  assert.equal(editDistance('cat', 'dog'), 3);
});

test('closest suggests only plausible typos', () => {
  const keys = ['rate', 'ceil', 'burst', 'cburst', 'prio', 'fairness', 'flow_ceil'];
  assert.equal(closest('fairnes', keys), 'fairness');
  assert.equal(closest('flowceil', keys), 'flow_ceil');
  assert.equal(closest('priority', keys), null);
  assert.equal(closest('xyz', keys), null);
  assert.equal(didYouMean('ceel', keys), " — did you mean 'ceil'?");
  assert.equal(didYouMean('zzzz', keys), '');
});

test('a hostile 20k-character word is answered at once: candidates further apart in length than a typo are not measured', () => {
  const zones = Intl.supportedValuesOf('timeZone');
  const t0 = performance.now();
  assert.equal(closest('x'.repeat(20_000), zones), null);
  const ms = performance.now() - t0;
  assert.ok(ms < 50, `${ms} ms (measuring every name took seconds)`);
  assert.equal(closest('Europe/Pariss', zones), 'Europe/Paris');
});
