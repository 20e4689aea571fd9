/**
 * explainRule / explainClassification: the marks on each part of a rule, the walk's steps, the
 * flow/packet split, and agreement with Classifier on many packets.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Classifier } from '../../src/classify/classifier.js';
import { compileRule } from '../../src/classify/compile.js';
import { explainClassification, explainRule, formatRulePart, readValue, type ExplainClass } from '../../src/classify/explain.js';
import { parse } from '../../src/classify/parser.js';
import { Direction } from '../../src/datapath/types.js';
import { Proto, TcpFlag } from '../../src/packet/types.js';
import { ctxFor } from './helpers.js';

const SYN = { ipVersion: 4 as const, src: '192.168.1.10', dst: '1.2.3.4', proto: Proto.TCP, sport: 51000, dport: 443, tcpFlags: TcpFlag.SYN };
const DATA = { ...SYN, tcpFlags: TcpFlag.ACK | TcpFlag.PSH, payloadBytes: 1000 };

function marked(rule: string, ctx = ctxFor(DATA)): string {
  return formatRulePart(explainRule(parse(rule), ctx));
}

describe('explainRule', () => {
  it('marks each comparison of a chain', () => {
    assert.equal(marked('proto == "tcp" and rport in [80, 443]'), 'proto == "tcp" ✓ and rport in [80, 443] ✓');
    assert.equal(marked('tcp.syn or tcp.pure_ack'), 'tcp.syn ✗ or tcp.pure_ack ✗');
    assert.equal(marked('tcp.syn or tcp.pure_ack', ctxFor(SYN)), 'tcp.syn ✓ or tcp.pure_ack ✗');
  });

  it('marks groups and negations as a whole, as well as their parts', () => {
    const text = marked('not (proto == "udp" or rport in 6881..6999) and (raddr in 1.2.0.0/16 or lport < 1024)');
    assert.equal(text, 'not (proto == "udp" ✗ or rport in 6881..6999 ✗) ✓ and (raddr in 1.2.0.0/16 ✓ or lport < 1024 ✗) ✓');
    assert.equal(marked('rport not in [22, 443]'), 'rport not in [22, 443] ✗');
  });

  it('gives each part the same verdict as the compiled rule (no second semantics)', () => {
    const rules = ['dport == 443 and not tcp.syn', 'length > 100 or dscp == "ef"', 'laddr in 192.168.0.0/16 and ipv == 4', 'true and ttl >= 64'];
    for (const ctx of [ctxFor(SYN), ctxFor(DATA), ctxFor(DATA, Direction.INGRESS)]) {
      for (const source of rules) {
        assert.equal(explainRule(parse(source), ctx).held, compileRule(source, { label: 't' }).test(ctx), source);
      }
    }
  });

  it('tells flow-scope parts from packet-scope ones', () => {
    const part = explainRule(parse('rport == 443 and tcp.syn'), ctxFor(SYN));
    assert.equal(part.kind, 'and');
    if (part.kind !== 'and') return;
    assert.deepEqual(part.parts.map((p) => (p.kind === 'test' ? p.scope : null)), ['flow', 'packet']);
  });

  it('reads values with the registry accessors', () => {
    const ctx = ctxFor(DATA, Direction.INGRESS);
    assert.equal(readValue('raddr', ctx), '192.168.1.10');
    assert.equal(readValue('rport', ctx), '51000');
    assert.equal(readValue('proto', ctx), 'tcp');
    assert.equal(readValue('tcp.syn', ctx), 'false');
  });
});

// interactive (P) | web (F, inner: tls F, plain F, default with a P rule) | bulk (P) | default (implicit)
const TREE: ExplainClass[] = [
  { path: 'interactive', parent: -1, isLeaf: true, match: 'tcp.syn or tcp.pure_ack' },
  { path: 'web', parent: -1, isLeaf: false, match: 'proto == "tcp" and rport in [80, 443, 8080]' },
  { path: 'web/tls', parent: 1, isLeaf: true, match: 'rport == 443' },
  { path: 'web/plain', parent: 1, isLeaf: true, match: 'rport == 80' },
  { path: 'web/default', parent: 1, isLeaf: true, match: 'length > 1000' },
  { path: 'bulk', parent: -1, isLeaf: true, match: 'flow.bytes > 10MB' },
  { path: 'default', parent: -1, isLeaf: true, match: null },
];

describe('explainClassification', () => {
  it('explains a SYN: the per-packet class wins, later classes are not tried', () => {
    const e = explainClassification(TREE, 6, ctxFor(SYN));
    assert.equal(e.chosenPath, 'interactive');
    assert.deepEqual(e.steps.map((s) => [s.path, s.outcome]), [['interactive', 'held'], ['web', 'not-tried'], ['bulk', 'not-tried'], ['default', 'not-tried']]);
    assert.equal(e.steps[0].decided, 'packet');
    assert.deepEqual(e.steps[0].packetAttributes.sort(), ['tcp.pure_ack', 'tcp.syn']);
    assert.equal(e.flowPath, 'web/tls', 'the flow-level walk takes per-packet rules as false');
    assert.equal(e.perPacket, true);
  });

  it('explains a data packet of the same flow: it descends into web/tls', () => {
    const e = explainClassification(TREE, 6, ctxFor(DATA));
    assert.equal(e.chosenPath, 'web/tls');
    assert.deepEqual(e.steps.map((s) => [s.path, s.depth, s.outcome]), [
      ['interactive', 0, 'failed'], ['web', 0, 'held'], ['web/tls', 1, 'held'], ['web/plain', 1, 'not-tried'],
      ['web/default', 1, 'not-tried'], ['bulk', 0, 'not-tried'], ['default', 0, 'not-tried'],
    ]);
    assert.equal(e.steps[1].decided, 'flow');
    assert.deepEqual(e.steps[1].values, [['proto', 'tcp'], ['rport', '443']]);
    assert.equal(formatRulePart(e.steps[1].rule!), 'proto == "tcp" ✓ and rport in [80, 443, 8080] ✓');
    assert.equal(e.flowPath, 'web/tls');
  });

  it('falls back to the default child whatever its own rule says', () => {
    const e = explainClassification(TREE, 6, ctxFor({ ...DATA, dport: 8080, payloadBytes: 10 }));
    assert.equal(e.chosenPath, 'web/default');
    assert.deepEqual(e.steps.map((s) => [s.path, s.outcome]), [
      ['interactive', 'failed'], ['web', 'held'], ['web/tls', 'failed'], ['web/plain', 'failed'], ['web/default', 'failed'],
      ['web/default', 'fallback'], ['bulk', 'not-tried'], ['default', 'not-tried'],
    ]);
    assert.equal(e.steps.find((s) => s.path === 'web/default' && s.outcome === 'failed')?.rule?.held, false);
  });

  it('agrees with Classifier.classify on many packets and both directions', () => {
    const classifier = new Classifier(
      TREE.map((c) => ({ path: c.path, parent: c.parent, isLeaf: c.isLeaf, rule: c.match === null ? null : compileRule(c.match, { label: c.path }) })),
      6,
    );
    let checked = 0;
    for (const dport of [22, 80, 443, 8080]) {
      for (const tcpFlags of [TcpFlag.SYN, TcpFlag.ACK, TcpFlag.ACK | TcpFlag.PSH, TcpFlag.FIN | TcpFlag.ACK]) {
        for (const payloadBytes of [0, 500, 1400]) {
          for (const dir of [Direction.EGRESS, Direction.INGRESS]) {
            for (const flowBytes of [0, 20e6]) {
              const ctx = ctxFor({ ...SYN, dport, tcpFlags, payloadBytes }, dir, { flowBytes });
              assert.equal(explainClassification(TREE, 6, ctx).chosen, classifier.classify(ctx));
              checked++;
            }
          }
        }
      }
    }
    assert.equal(checked, 192);
  });
});
