import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detect, L7Result, L7Verdict } from '../../../src/classify/l7/index.js';
import { dhtPing, dnsQuery, rtpPacket, stunBindingRequest, utpOpening } from './payloads.js';

const out = new L7Result();

function udp(payload: Buffer, fromInitiator = true): L7Verdict {
  const buf = Buffer.alloc(payload.length + 9, 0x5a);
  payload.copy(buf, 3);
  return detect(buf, 3, payload.length, 17, fromInitiator, out);
}

test('a DNS query, with and without EDNS, is dns', () => {
  for (const edns of [false, true]) {
    assert.equal(udp(dnsQuery('www.example.com', edns)), L7Verdict.DECIDED);
    assert.equal(out.protocol, 'dns');
    assert.equal(out.host, '');
  }
  assert.equal(udp(dnsQuery('_sip._udp.example.org')), L7Verdict.DECIDED);
});

test('DNS look-alikes are not dns: two questions, a stray trailing byte, a bad label, a bad class', () => {
  const two = dnsQuery('example.com');
  two[5] = 2;
  assert.equal(udp(two), L7Verdict.UNKNOWN);
  assert.equal(udp(Buffer.concat([dnsQuery('example.com'), Buffer.from([0])])), L7Verdict.UNKNOWN);
  const label = dnsQuery('example.com');
  label[13] = 0x01; // a control byte inside "example"
  assert.equal(udp(label), L7Verdict.UNKNOWN);
  const cls = dnsQuery('example.com');
  cls[cls.length - 1] = 7;
  assert.equal(udp(cls), L7Verdict.UNKNOWN);
  assert.equal(out.protocol, 'unknown');
});

test('a DHT ping query, a DHT response and a generic bencoded message are bittorrent', () => {
  assert.equal(udp(dhtPing()), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'bittorrent');
  assert.equal(udp(Buffer.from('d1:rd2:id20:mnopqrstuvwxyz012345e1:t2:aa1:y1:re'), false), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'bittorrent');
  assert.equal(udp(Buffer.from('d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee'), false), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'bittorrent');
});

test('bencoded-looking data without a message kind or a closing e is not bittorrent', () => {
  assert.equal(udp(Buffer.from('d1:t2:aa1:x1:qe')), L7Verdict.UNKNOWN);
  assert.equal(udp(dhtPing().subarray(0, 40)), L7Verdict.UNKNOWN);
});

test('uTP: SYN from the initiator and STATE from the responder are bittorrent, not the other way round', () => {
  assert.equal(udp(utpOpening(true), true), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'bittorrent');
  assert.equal(udp(utpOpening(false), false), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'bittorrent');
  assert.equal(udp(utpOpening(true), false), L7Verdict.UNKNOWN);
  assert.equal(udp(Buffer.concat([utpOpening(true), Buffer.from('payload')]), true), L7Verdict.UNKNOWN);
  const ext = Buffer.concat([utpOpening(false), Buffer.from([0, 4, 1, 2, 3, 4])]);
  ext[1] = 1; // selective ACK extension, 4 bytes, ending the chain
  assert.equal(udp(ext, false), L7Verdict.DECIDED);
  ext[21] = 5; // extension length now runs past the datagram
  assert.equal(udp(ext, false), L7Verdict.UNKNOWN);
});

test('a STUN binding request is stun; a wrong cookie or length is not', () => {
  assert.equal(udp(stunBindingRequest()), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'stun');
  const cookie = stunBindingRequest();
  cookie[7] ^= 1;
  assert.equal(udp(cookie), L7Verdict.UNKNOWN);
  const len = stunBindingRequest();
  len[3] += 4;
  assert.equal(udp(len), L7Verdict.UNKNOWN);
});

test('an RTP packet with a media payload type is rtp; a non-media type or a bare header is not', () => {
  assert.equal(udp(rtpPacket()), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'rtp');
  const pt = rtpPacket();
  pt[1] = 72; // RTCP range
  assert.equal(udp(pt), L7Verdict.UNKNOWN);
  assert.equal(udp(rtpPacket().subarray(0, 12)), L7Verdict.UNKNOWN);
});
