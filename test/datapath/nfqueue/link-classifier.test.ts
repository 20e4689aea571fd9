/**
 * The link/direction classifier: POSTROUTING by output interface is egress, INPUT and FORWARD by
 * input interface are ingress, everything else (other hooks, other interfaces, unshaped directions)
 * is null. Interface indexes are given by a fake lookup, and one real one reads lo's from sysfs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Direction } from '../../../src/datapath/types.js';
import {
  NF_INET_FORWARD, NF_INET_LOCAL_IN, NF_INET_LOCAL_OUT, NF_INET_POST_ROUTING, NF_INET_PRE_ROUTING,
} from '../../../src/datapath/nfqueue/constants.js';
import { linkClassifier, readIfindex } from '../../../src/datapath/nfqueue/link-classifier.js';

const INDEX: Record<string, number> = { wan0: 7, lan0: 3, dmz0: 12 };
const lookup = (name: string): number => INDEX[name];

describe('linkClassifier', () => {
  const classify = linkClassifier(
    [
      { interface: 'wan0', egress: true, ingress: true },
      { interface: 'lan0', egress: true, ingress: false },
      { interface: 'dmz0', egress: false, ingress: true },
    ],
    lookup,
  );

  it('maps POSTROUTING by the output interface to that link\'s egress', () => {
    assert.deepEqual(classify(NF_INET_POST_ROUTING, 0, 7), { link: 0, direction: Direction.EGRESS });
    assert.deepEqual(classify(NF_INET_POST_ROUTING, 7, 3), { link: 1, direction: Direction.EGRESS }, 'the input interface does not matter at POSTROUTING');
  });

  it('maps INPUT and FORWARD by the input interface to that link\'s ingress', () => {
    assert.deepEqual(classify(NF_INET_LOCAL_IN, 7, 0), { link: 0, direction: Direction.INGRESS });
    assert.deepEqual(classify(NF_INET_FORWARD, 12, 7), { link: 2, direction: Direction.INGRESS });
    assert.deepEqual(classify(NF_INET_FORWARD, 7, 3), { link: 0, direction: Direction.INGRESS }, 'FORWARD goes by where the packet came in');
  });

  it('lets everything else go unshaped: other hooks, unknown interfaces, directions a link does not shape', () => {
    assert.equal(classify(NF_INET_PRE_ROUTING, 7, 0), null);
    assert.equal(classify(NF_INET_LOCAL_OUT, 0, 7), null);
    assert.equal(classify(NF_INET_POST_ROUTING, 0, 99), null);
    assert.equal(classify(NF_INET_POST_ROUTING, 0, 0), null, 'index 0 is "no interface", never a link');
    assert.equal(classify(NF_INET_LOCAL_IN, 3, 0), null, 'lan0 shapes egress only');
    assert.equal(classify(NF_INET_POST_ROUTING, 0, 12), null, 'dmz0 shapes ingress only');
  });

  it('returns the same place object for every packet of a link direction (nothing allocated per packet)', () => {
    assert.equal(classify(NF_INET_POST_ROUTING, 0, 7), classify(NF_INET_POST_ROUTING, 0, 7));
    assert.equal(classify(NF_INET_LOCAL_IN, 7, 0), classify(NF_INET_FORWARD, 7, 0));
  });

  it('reads interface indexes from sysfs, and names a missing interface in one line', () => {
    assert.equal(readIfindex('lo'), 1);
    assert.throws(() => linkClassifier([{ interface: 'nosuch-if0', egress: true, ingress: false }]), /^Error: interface nosuch-if0 does not exist/);
  });
});
