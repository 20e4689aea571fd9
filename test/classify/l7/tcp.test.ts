import { test } from 'node:test';
import assert from 'node:assert/strict';
import { detect, L7Result, L7Verdict } from '../../../src/classify/l7/index.js';
import { bittorrentHandshake, clientHelloMessage, clientHelloRecord, dnsQuery, httpRequest, httpResponse, sshBanner } from './payloads.js';

const out = new L7Result();

/** Runs detect on `payload` placed at an odd offset inside a larger buffer of junk. */
function tcp(payload: Buffer, fromInitiator = true): L7Verdict {
  const buf = Buffer.alloc(payload.length + 13, 0xee);
  payload.copy(buf, 5);
  return detect(buf, 5, payload.length, 6, fromInitiator, out);
}

test('HTTP requests of every method are http with the Host header, lower-cased and without port', () => {
  for (const method of ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
    assert.equal(tcp(httpRequest(method, 'WWW.Example.org:8080')), L7Verdict.DECIDED, method);
    assert.equal(out.protocol, 'http');
    assert.equal(out.host, 'www.example.org');
  }
  assert.equal(tcp(httpRequest('GET', '[2001:db8::1]:80')), L7Verdict.DECIDED);
  assert.equal(out.host, '2001:db8::1');
});

test('HTTP CONNECT takes its host from the request line', () => {
  assert.equal(tcp(Buffer.from('CONNECT proxy.example:443 HTTP/1.1\r\n\r\n')), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'http');
  assert.equal(out.host, 'proxy.example');
});

test('an HTTP response is http without host', () => {
  assert.equal(tcp(httpResponse(), false), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'http');
  assert.equal(out.host, '');
});

test('an HTTP request cut before its Host line needs more, then decides on the longer prefix', () => {
  const full = httpRequest('GET', 'example.com');
  const hostAt = full.indexOf('hOsT');
  for (const cut of [3, 4, 20, hostAt, hostAt + 9]) {
    assert.equal(tcp(full.subarray(0, cut)), L7Verdict.NEED_MORE, `cut ${cut}`);
    assert.equal(out.protocol, cut < 4 ? 'unknown' : 'http', `cut ${cut}`);
    assert.equal(out.host, '');
  }
  assert.equal(tcp(full), L7Verdict.DECIDED);
  assert.equal(out.host, 'example.com');
});

test('an HTTP request whose headers end without Host decides with no host', () => {
  assert.equal(tcp(Buffer.from('GET / HTTP/1.0\r\nAccept: */*\r\n\r\n')), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'http');
  assert.equal(out.host, '');
});

test('near misses of HTTP are not http', () => {
  for (const text of ['GETX / HTTP/1.1\r\n', 'get / HTTP/1.1\r\n', 'HTTP/2.0 200\r\n', 'POSTMAN']) {
    assert.equal(tcp(Buffer.from(text)), L7Verdict.UNKNOWN, text);
    assert.equal(out.protocol, 'unknown');
  }
});

test('a TLS ClientHello is tls with its server name', () => {
  assert.equal(tcp(clientHelloRecord('Secure.Example.COM')), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'tls');
  assert.equal(out.host, 'secure.example.com');
});

test('a ClientHello without server_name decides tls with no host', () => {
  assert.equal(tcp(clientHelloRecord(null)), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'tls');
  assert.equal(out.host, '');
});

test('a ClientHello split over two segments: every cut before the name needs more, the whole decides', () => {
  const full = clientHelloRecord('split.example.net', 900);
  const nameEnd = full.indexOf('split.example.net') + 'split.example.net'.length;
  for (let cut = 1; cut < full.length; cut++) {
    const v = tcp(full.subarray(0, cut));
    if (cut < nameEnd) {
      assert.equal(v, L7Verdict.NEED_MORE, `cut ${cut}`);
      assert.equal(out.host, '', `cut ${cut}`);
      if (cut >= 6) assert.equal(out.protocol, 'tls', `cut ${cut}`);
    } else {
      assert.equal(v, L7Verdict.DECIDED, `cut ${cut}`);
      assert.equal(out.host, 'split.example.net', `cut ${cut}`);
    }
  }
  // The two segments as a flow sees them: the first alone, then the stream prefix.
  assert.equal(tcp(full.subarray(0, 700)), L7Verdict.NEED_MORE);
  assert.equal(tcp(full), L7Verdict.DECIDED);
  assert.equal(out.host, 'split.example.net');
});

test('a ClientHello spilling past its record settles as tls without host', () => {
  const msg = clientHelloMessage('late.example', 300);
  const recordLen = 200; // the record holds only the first 200 bytes of the message
  const record = Buffer.concat([Buffer.from([22, 3, 1, recordLen >> 8, recordLen & 0xff]), msg.subarray(0, recordLen)]);
  assert.equal(tcp(record), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'tls');
  assert.equal(out.host, '');
});

test('a ServerHello record is tls', () => {
  const hello = Buffer.from([22, 3, 3, 0, 6, 2, 0, 0, 2, 3, 3]);
  assert.equal(tcp(hello, false), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'tls');
});

test('a ClientHello whose lengths point outside the message is not tls', () => {
  const bad = clientHelloRecord('x.example');
  bad[5 + 4 + 34] = 200; // session id length > 32
  assert.equal(tcp(bad), L7Verdict.UNKNOWN);
  assert.equal(out.protocol, 'unknown');
  assert.equal(out.host, '');
});

test('an SSH banner is ssh; its first bytes need more; another banner is not', () => {
  assert.equal(tcp(sshBanner()), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'ssh');
  assert.equal(tcp(Buffer.from('SSH-1.99-Cisco-1.25\r\n'), false), L7Verdict.DECIDED);
  assert.equal(tcp(Buffer.from('SSH-2')), L7Verdict.NEED_MORE);
  assert.equal(tcp(Buffer.from('SSH-3.0-x\r\n')), L7Verdict.UNKNOWN);
});

test('a BitTorrent handshake is bittorrent; a 19-byte prefix needs more', () => {
  assert.equal(tcp(bittorrentHandshake()), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'bittorrent');
  assert.equal(tcp(bittorrentHandshake().subarray(0, 19)), L7Verdict.NEED_MORE);
  const wrong = bittorrentHandshake();
  wrong[0] = 18;
  assert.equal(tcp(wrong), L7Verdict.UNKNOWN);
});

test('DNS over TCP (length-prefixed) is dns', () => {
  const q = dnsQuery('example.com', true);
  const framed = Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]);
  assert.equal(tcp(framed), L7Verdict.DECIDED);
  assert.equal(out.protocol, 'dns');
  framed[1] -= 1; // the length prefix no longer covers the message
  assert.equal(tcp(framed), L7Verdict.UNKNOWN);
});
