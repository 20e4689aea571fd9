/**
 * `sluice flows` on the CLI side: the listing's columns, the filter in the rule language over a
 * flow's facts (the opener's side local), refusal of packet attributes, and sorting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_OWNER } from '../../src/classify/context.js';
import { compileFilter, flowMatches, formatFlows } from '../../src/cli/flows.js';
import type { FlowRow } from '../../src/engine/snapshot.js';

function row(over: Partial<FlowRow>): FlowRow {
  return {
    key: '', id: 1, proto: 6, ipVersion: 4, initiator: '192.168.1.10', initiatorPort: 51000, responder: '203.0.113.5', responderPort: 443,
    tcpState: 'established', firstSeenUs: 0, lastSeenUs: 0, origBytes: 3_000_000, origPackets: 2000, replyBytes: 50_000, replyPackets: 1000,
    link: 'wan', egressClass: 'web', ingressClass: 'web', intervalBytes: 0, rateBps: 0,
    owner: { ...NO_OWNER, found: true, known: true, uid: 1000, user: 'fred', cmd: 'curl' }, cc: 'SK', country: 'Slovakia', l7: 'tls', host: 'example.com',
    origRateBps: 2_000_000, replyRateBps: 64_000, ageUs: 12_000_000,
    ...over,
  };
}

test('a flow per line: connection, class, owner, country, application, rate each way, bytes, age, and the id explain --flow takes', () => {
  const lines = formatFlows([row({}), row({ id: 40213, proto: 17, initiatorPort: 5353, responderPort: 53, owner: NO_OWNER, cc: '', l7: '', host: '', egressClass: 'interactive', ingressClass: null })]);
  assert.match(lines[0], /^flow +class +user +cmd +cc +l7 +rate out +rate in +bytes +age +id$/);
  assert.match(lines[1], /^tcp 192\.168\.1\.10:51000 > 203\.0\.113\.5:443 +web +fred +curl +SK +tls example\.com +2mbit +64kbit +3\.05MB +12s +1$/);
  assert.match(lines[2], /^udp 192\.168\.1\.10:5353 > 203\.0\.113\.5:53 +interactive +- +- +- +- .* 40213$/);
});

test('the filter is the rule language over the flow: owner, ports of the opener\'s side, facts, counters', () => {
  const f = row({});
  const holds = (rule: string): boolean => flowMatches(compileFilter(rule), f);
  assert.equal(holds('user == "fred" and cmd == "curl"'), true);
  assert.equal(holds('lport == 51000 and rport == 443 and raddr in 203.0.113.0/24'), true);
  assert.equal(holds('l7 == "tls" and l7.host ~ "example" and cc == "SK"'), true);
  assert.equal(holds('flow.bytes > 3MB'), true);
  assert.equal(holds('user == "alice" or rport == 80'), false);
  assert.equal(flowMatches(compileFilter('user != "nobody"'), row({ owner: NO_OWNER })), false, 'no owner: no process comparison holds');
});

test('packet attributes and mistakes in a filter are refused with the reason', () => {
  assert.throws(() => compileFilter('tcp.syn or rport == 22'), /tcp\.syn is a packet attribute: a listing of flows has no packet/);
  assert.throws(() => compileFilter('dport == 22 and src == 10.0.0.1'), /dport, src are packet attributes: a listing of flows has no packet — write rport for dport, laddr for src/);
  assert.throws(() => compileFilter('rpot == 22'), /did you mean 'rport'/);
});
