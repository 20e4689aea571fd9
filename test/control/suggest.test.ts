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
