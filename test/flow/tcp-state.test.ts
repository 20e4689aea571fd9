// The TCP state tracker: pure transitions, and the states a flow goes through in the table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlowTable } from '../../src/flow/table.js';
import { TcpState, tcpInitialState, tcpNextState } from '../../src/flow/tcp-state.js';
import { ACK, FIN, Pkt, RST, SYN, TCP, pkt, reverse } from './packets.js';

test('initial state follows the first segment', () => {
  assert.equal(tcpInitialState(SYN), TcpState.SYN_SENT);
  assert.equal(tcpInitialState(SYN | ACK), TcpState.SYN_RECV);
  assert.equal(tcpInitialState(ACK), TcpState.MIDSTREAM);
  assert.equal(tcpInitialState(ACK | 0x08), TcpState.MIDSTREAM);
  assert.equal(tcpInitialState(FIN | ACK), TcpState.CLOSING);
  assert.equal(tcpInitialState(RST), TcpState.CLOSED);
  assert.equal(tcpInitialState(RST | ACK), TcpState.CLOSED);
});

test('transitions: handshake, pickup, close, reset and reuse', () => {
  const cases: [TcpState, number, boolean, TcpState][] = [
    [TcpState.SYN_SENT, SYN | ACK, true, TcpState.SYN_RECV],
    [TcpState.SYN_SENT, SYN, false, TcpState.SYN_SENT], // retransmitted SYN
    [TcpState.SYN_SENT, SYN | ACK, false, TcpState.SYN_SENT], // SYN+ACK from the wrong side
    [TcpState.SYN_RECV, ACK, false, TcpState.ESTABLISHED],
    [TcpState.SYN_RECV, ACK, true, TcpState.SYN_RECV], // the responder's ACK does not finish the handshake
    [TcpState.SYN_RECV, SYN | ACK, false, TcpState.SYN_RECV],
    [TcpState.MIDSTREAM, ACK, false, TcpState.MIDSTREAM],
    [TcpState.MIDSTREAM, ACK, true, TcpState.ESTABLISHED],
    [TcpState.ESTABLISHED, ACK, true, TcpState.ESTABLISHED],
    [TcpState.ESTABLISHED, FIN | ACK, false, TcpState.CLOSING],
    [TcpState.ESTABLISHED, FIN | ACK, true, TcpState.CLOSING],
    [TcpState.ESTABLISHED, RST, true, TcpState.CLOSED],
    [TcpState.SYN_SENT, RST | ACK, true, TcpState.CLOSED],
    [TcpState.CLOSING, ACK, true, TcpState.CLOSING],
    [TcpState.CLOSING, RST, false, TcpState.CLOSED],
    [TcpState.CLOSED, ACK, false, TcpState.CLOSED],
    [TcpState.CLOSING, SYN, false, TcpState.SYN_SENT],
    [TcpState.CLOSED, SYN, false, TcpState.SYN_SENT],
  ];
  for (const [from, flags, isReply, to] of cases) {
    assert.equal(tcpNextState(from, flags, isReply), to, `state ${from} flags ${flags} reply ${isReply}`);
  }
});

test('a connection goes through its states in the table', () => {
  const t = new FlowTable({ maxFlows: 8, seed: 9 });
  const c: Pkt = { src: '192.0.2.1', dst: '192.0.2.2', proto: TCP, sport: 50000, dport: 80 };
  const id = t.lookup(pkt({ ...c, flags: SYN }), 1);
  const state = (): string => t.describe(id)!.tcpState;
  assert.equal(state(), 'syn_sent');
  t.lookup(pkt(reverse(c, SYN | ACK)), 2);
  assert.equal(state(), 'syn_recv');
  t.lookup(pkt({ ...c, flags: ACK }), 3);
  assert.equal(state(), 'established');
  t.lookup(pkt(reverse(c, ACK)), 4);
  assert.equal(state(), 'established');
  t.lookup(pkt({ ...c, flags: FIN | ACK }), 5);
  assert.equal(state(), 'closing');
  t.lookup(pkt(reverse(c, RST)), 6);
  assert.equal(state(), 'closed');
  assert.equal(t.lookup(pkt({ ...c, flags: SYN }), 7), id);
  assert.equal(state(), 'syn_sent');
});

test('a flow picked up mid-stream is established once the other side answers', () => {
  const t = new FlowTable({ maxFlows: 8, seed: 9 });
  const c: Pkt = { src: '192.0.2.1', dst: '192.0.2.2', proto: TCP, sport: 50000, dport: 22, flags: ACK };
  const id = t.lookup(pkt(c), 1);
  t.lookup(pkt(c), 2);
  assert.equal(t.describe(id)!.tcpState, 'midstream');
  t.lookup(pkt(reverse(c)), 3);
  assert.equal(t.describe(id)!.tcpState, 'established');
});

test('non-TCP flows have no TCP state', () => {
  const t = new FlowTable({ maxFlows: 8, seed: 9 });
  const id = t.lookup(pkt({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17, sport: 1, dport: 2 }), 1);
  assert.equal(t.tcpState(id), TcpState.NONE);
  assert.equal(t.describe(id)!.tcpState, 'none');
});
