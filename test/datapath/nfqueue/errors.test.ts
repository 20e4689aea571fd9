/** describeNetlinkError: each errno the kernel returns becomes one line that says what to do. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EBUSY, ENOENT, EPERM, errnoName } from '../../../src/datapath/errno.js';
import { describeNetlinkError } from '../../../src/datapath/nfqueue/errors.js';

test('EBUSY on bind names the queue and says what to do', () => {
  assert.equal(
    describeNetlinkError(EBUSY, { queueNum: 3, operation: 'bind' }),
    'queue 3 is already bound by another process (stop it, or choose another queue number)',
  );
});

test('EPERM on bind names both causes this kernel reports it for: another holder, or not root', () => {
  const line = describeNetlinkError(EPERM, { queueNum: 3, operation: 'bind' });
  assert.match(line, /another process may hold queue 3/);
  assert.match(line, /not running as root \(it needs CAP_NET_ADMIN\)/);
});

test('ENOENT on a verdict and the other known errnos give distinct one-line messages', () => {
  const ctx = { queueNum: 4, operation: 'verdict' };
  assert.match(describeNetlinkError(ENOENT, ctx), /no longer holds/);
  const lines = [1, 2, 12, 16, 19, 22, 93, 95, 97, 105].map((e) => describeNetlinkError(e, { queueNum: 4, operation: 'set flags' }));
  for (const line of lines) {
    assert.equal(line.includes('\n'), false);
    assert.match(line, /queue 4/);
  }
  assert.equal(new Set(lines).size, lines.length - 1, 'EPROTONOSUPPORT and EAFNOSUPPORT share one message');
});

test('an unknown errno is shown with its name when it has one', () => {
  assert.equal(errnoName(17), 'EEXIST');
  assert.equal(errnoName(95), 'EOPNOTSUPP');
  assert.equal(describeNetlinkError(17, { queueNum: 0, operation: 'bind' }), 'queue 0: bind failed: error 17 (EEXIST)');
  assert.equal(describeNetlinkError(9999, { queueNum: 0, operation: 'bind' }), 'queue 0: bind failed: error 9999');
});
