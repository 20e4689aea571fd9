/**
 * `l7` and `l7.host` end to end in the lab (root; without root the test fails saying so): real
 * programs' traffic is classified by its layer-7 protocol and host name from the packet that decides
 * it on. client — server, sluice on the client shaping its egress toward the server at 100 Mbit/s:
 *
 *   web_example  l7 == "http" and l7.host == "example.test"       set_dscp: af11  (10)
 *   tls_example  l7 == "tls" and l7.host ~ "\.example\.test$"     set_dscp: af21  (18)
 *   ssh          l7 == "ssh"                                      set_dscp: af31  (26)
 *   pending      l7 == "pending"                                  set_dscp: cs1   (8)
 *   default      everything else                                  no rewrite      (DSCP stays 0)
 *
 * A node client in the client's namespace makes CONNECTIONS connections, one after the other, to each
 * of five servers (one node process in the server's namespace, on distinct ports):
 *   8081  HTTP: http.request POSTs PAYLOAD_BYTES with Host example.test          → 10
 *   8082  HTTP: the same with Host other.test (http, but the host rule fails)      → 0
 *   8443  TLS: tls.connect with SNI www.example.test, PAYLOAD_BYTES of app data   → 18
 *   8444  TLS: SNI example.test (no label before it: the anchored regex fails)    → 0
 *   8022  SSH-like: the banner line `SSH-2.0-OpenSSH_9.6\r\n`, the server's banner back, then
 *         PAYLOAD_BYTES                                                          → 26
 * Each server answers with what it received and the client checks it. The TLS server has a
 * throwaway self-signed certificate made by openssl at test time; without openssl it is a plain TCP
 * server that closes after the ClientHello (which is what decides the flow), and the client expects
 * no handshake.
 *
 * Until its first payload a flow's l7 is 'pending', so its SYN and the handshake's ACK go to the
 * pending class; the client's first payload packet (the request, the ClientHello, the banner) decides
 * the flow, and it and every later packet of the flow go to the flow's class. The judge is the
 * server's kernel: counting rules in its mangle PREROUTING (no target, one per question, read back by
 * their comments, loaded in one iptables-restore) count the client's packets per port: SYNs
 * (`--syn`), bare segments (not SYN, IP length at most IP + TCP header with timestamps, 52 bytes over
 * IPv4, 72 over IPv6: ACKs, FINs, RSTs) and payload segments (longer: `-m length`; checkWirePath
 * asserts timestamps on and offloads off, so every segment carries the 12-byte timestamp option and
 * none is merged, and the client has SACK off, so no ACK carries SACK blocks), each in total and per
 * DSCP. Per port, with N connections:
 *   - N SYNs, all DSCP 8;
 *   - exactly N bare segments with DSCP 8 (the handshake ACKs: none of these servers speaks first),
 *     all others with the class's DSCP;
 *   - every payload segment with the class's DSCP, and their payload (IP bytes less the headers) is
 *     exactly the bytes the client wrote on those connections — so no payload segment escaped the
 *     count (this assumes the client resent nothing, as on an idle 100 Mbit/s lab link).
 * IPv4, then IPv6 (ip6tables; its length match includes the 40-byte header).
 *
 * Traffic stays inside the lab's namespaces; the servers are killed in finally, sluice and the lab
 * (with the counting rules in it) removed by withLab.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { it, type TestContext } from 'node:test';
import { Lab, LabCommandError } from '../../src/lab/index.js';
import { run } from '../../src/lab/exec.js';
import { setSysctl } from '../../src/lab/netns.js';
import { addCountingRules, readCountingRules, type CountingRule, type RuleCount } from './counting-rules.js';
import { checkWirePath, configYaml, queueNumber, tcpSegment, withLab } from './support.js';

const LINK_BPS = 100_000_000;
const CS1 = 8;
const AF11 = 10;
const AF21 = 18;
const AF31 = 26;
const DSCPS = [0, CS1, AF11, AF21, AF31];
/** Connections per service and family. */
const CONNECTIONS = 3;
/** Bytes each connection sends after its first message (the HTTP body, TLS application data, SSH). */
const PAYLOAD_BYTES = 6000;
/** How long one client run (all services, one family) may take. */
const CLIENT_TIMEOUT_MS = 15_000;
/** How long the servers may take to listen. */
const SERVER_START_MS = 10_000;

const CLASSES = [
  '  web_example:',
  '    rate: 10mbit',
  '    ceil: 100%',
  '    match: l7 == "http" and l7.host == "example.test"',
  '    set_dscp: af11',
  '  tls_example:',
  '    rate: 10mbit',
  '    ceil: 100%',
  '    match: l7 == "tls" and l7.host ~ "\\\\.example\\\\.test$"',
  '    set_dscp: af21',
  '  ssh:',
  '    rate: 10mbit',
  '    ceil: 100%',
  '    match: l7 == "ssh"',
  '    set_dscp: af31',
  '  pending:',
  '    rate: 10mbit',
  '    ceil: 100%',
  '    match: l7 == "pending"',
  '    set_dscp: cs1',
  '  default:',
  '    rate: 60mbit',
  '    ceil: 100%',
  '',
].join('\n');

type Kind = 'http' | 'tls' | 'ssh';

interface Service {
  label: string;
  kind: Kind;
  port: number;
  /** The HTTP Host header or TLS server name the client sends ('' for SSH). */
  host: string;
  /** The DSCP the flow's packets carry from its first payload on. */
  dscp: number;
}

const SERVICES: readonly Service[] = [
  { label: 'HTTP Host example.test', kind: 'http', port: 8081, host: 'example.test', dscp: AF11 },
  { label: 'HTTP Host other.test', kind: 'http', port: 8082, host: 'other.test', dscp: 0 },
  { label: 'TLS SNI www.example.test', kind: 'tls', port: 8443, host: 'www.example.test', dscp: AF21 },
  { label: 'TLS SNI example.test', kind: 'tls', port: 8444, host: 'example.test', dscp: 0 },
  { label: 'SSH banner', kind: 'ssh', port: 8022, host: '', dscp: AF31 },
];

const CLIENT_BANNER = 'SSH-2.0-OpenSSH_9.6\r\n';
const SERVER_BANNER = 'SSH-2.0-sluice_lab\r\n';

/**
 * The servers, one node process: HTTP answers "HOST BYTES" for a request's Host header and body
 * size; TLS (or, without a certificate, plain TCP closing after the first bytes) and SSH answer the
 * byte count once they hold the payload, and close. Listening on :: takes IPv4 and IPv6.
 */
const SERVER_JS = `
const net = require('net'), http = require('http'), tls = require('tls'), fs = require('fs');
const cfg = JSON.parse(process.argv[1]);
const quiet = (s) => s.on('error', () => {});
function sink(s, want, first) {
  let n = 0;
  quiet(s);
  s.on('data', (c) => {
    if (n === 0 && first !== '') s.write(first);
    n += c.length;
    if (n >= want) s.end(String(n));
  });
}
const servers = [];
for (const svc of cfg.services) {
  if (svc.kind === 'http') {
    servers.push(http.createServer((req, res) => {
      let n = 0;
      req.on('data', (c) => { n += c.length; });
      req.on('end', () => res.end(req.headers.host + ' ' + n));
    }));
  } else if (svc.kind === 'ssh') {
    servers.push(net.createServer((s) => sink(s, cfg.bannerBytes + cfg.payloadBytes, cfg.serverBanner)));
  } else if (cfg.cert === null) {
    servers.push(net.createServer((s) => { quiet(s); s.once('data', () => s.end()); }));
  } else {
    const t = tls.createServer({ key: fs.readFileSync(cfg.cert.key), cert: fs.readFileSync(cfg.cert.cert) }, (s) => sink(s, cfg.payloadBytes, ''));
    t.on('tlsClientError', () => {});
    servers.push(t);
  }
}
let listening = 0;
servers.forEach((server, i) => server.listen(cfg.services[i].port, '::', () => {
  if (++listening === servers.length) console.log('ready');
}));
`;

/**
 * The client: CONNECTIONS connections to each service in turn, each checked against the server's
 * answer; prints, per port, the bytes it wrote to the kernel (TLS: the raw socket's, records and all).
 */
const CLIENT_JS = `
const net = require('net'), http = require('http'), tls = require('tls'), crypto = require('crypto');
const cfg = JSON.parse(process.argv[1]);
function finish(resolve, reject, reply, want, written) {
  if (reply === want) resolve(written);
  else reject(new Error('port answered ' + JSON.stringify(reply) + ', want ' + JSON.stringify(want)));
}
function httpPost(svc) {
  return new Promise((resolve, reject) => {
    const body = crypto.randomBytes(cfg.payloadBytes);
    let reply = null, written = null;
    const done = () => reply !== null && written !== null && finish(resolve, reject, reply, svc.host + ' ' + body.length, written);
    const req = http.request({ host: cfg.address, port: svc.port, method: 'POST', path: '/upload', agent: false,
      headers: { Host: svc.host, 'Content-Type': 'application/octet-stream', 'Content-Length': body.length } });
    req.on('error', reject);
    req.on('socket', (s) => s.on('close', () => { written = s.bytesWritten; done(); }));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (c) => { text += c; });
      res.on('end', () => { reply = text; done(); });
    });
    req.end(body);
  });
}
function tlsSend(svc) {
  return new Promise((resolve, reject) => {
    const payload = crypto.randomBytes(cfg.payloadBytes);
    const raw = net.connect(svc.port, cfg.address);
    const s = tls.connect({ socket: raw, servername: svc.host, rejectUnauthorized: false });
    let reply = '';
    s.setEncoding('latin1');
    s.on('secureConnect', () => s.write(payload));
    s.on('data', (c) => { reply += c; });
    s.on('error', (e) => { if (cfg.handshake) reject(e); });
    raw.on('error', () => {});
    raw.on('close', () => finish(resolve, reject, reply, cfg.handshake ? String(payload.length) : '', raw.bytesWritten));
  });
}
function sshSend(svc) {
  return new Promise((resolve, reject) => {
    const payload = crypto.randomBytes(cfg.payloadBytes);
    const s = net.connect(svc.port, cfg.address, () => s.write(cfg.clientBanner));
    let reply = '';
    s.setEncoding('latin1');
    s.on('data', (c) => {
      if (reply === '') s.write(payload);
      reply += c;
    });
    s.on('error', reject);
    s.on('close', () => finish(resolve, reject, reply, cfg.serverBanner + (cfg.clientBanner.length + payload.length), s.bytesWritten));
  });
}
const SEND = { http: httpPost, tls: tlsSend, ssh: sshSend };
(async () => {
  const written = {};
  for (const svc of cfg.services) {
    written[svc.port] = 0;
    for (let i = 0; i < cfg.connections; i++) written[svc.port] += await SEND[svc.kind](svc);
  }
  console.log(JSON.stringify(written));
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

interface CertFiles {
  key: string;
  cert: string;
}

/** A throwaway self-signed certificate for the TLS servers, or null when openssl is not installed. */
async function makeCert(dirPath: string): Promise<CertFiles | null> {
  const files = { key: join(dirPath, 'key.pem'), cert: join(dirPath, 'cert.pem') };
  try {
    // Outside the lab: it needs no network, and a missing tool is then told by spawn's ENOENT.
    await run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', files.key, '-out', files.cert, '-days', '1', '-subj', '/CN=www.example.test']);
  } catch (err) {
    if (err instanceof LabCommandError && err.message.includes('not installed')) return null;
    throw err;
  }
  return files;
}

/** Starts the servers in the server's namespace and waits until all listen. */
async function startServers(lab: Lab, cert: CertFiles | null): Promise<ChildProcess> {
  const cfg = { services: SERVICES, cert, payloadBytes: PAYLOAD_BYTES, bannerBytes: CLIENT_BANNER.length, serverBanner: SERVER_BANNER };
  const child = lab.spawn('server', ['node', '-e', SERVER_JS, JSON.stringify(cfg)]);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + SERVER_START_MS;
  while (!out.includes('ready')) {
    assert.ok(child.exitCode === null && child.signalCode === null, `the servers exited before listening: ${out.trim()}`);
    assert.ok(Date.now() < deadline, `the servers did not listen within ${SERVER_START_MS} ms: ${out.trim()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return child;
}

/** Runs the client over `family`; returns the bytes it wrote per port. */
async function runClient(lab: Lab, family: 4 | 6, handshake: boolean): Promise<Map<number, number>> {
  const cfg = {
    address: lab.address('server', family),
    services: SERVICES,
    connections: CONNECTIONS,
    payloadBytes: PAYLOAD_BYTES,
    handshake,
    clientBanner: CLIENT_BANNER,
    serverBanner: SERVER_BANNER,
  };
  const r = await lab.exec('client', ['node', '-e', CLIENT_JS, JSON.stringify(cfg)], { timeoutMs: CLIENT_TIMEOUT_MS, check: false });
  assert.equal(r.exitCode, 0, `the IPv${family} client failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  const written = JSON.parse(r.stdout) as Record<string, number>;
  return new Map(Object.entries(written).map(([port, bytes]) => [Number(port), bytes]));
}

type Segment = 'syn' | 'bare' | 'data';
const SEGMENTS: readonly Segment[] = ['syn', 'bare', 'data'];

/** IP and TCP header bytes of a segment with timestamps: the length of a bare segment. */
function headerBytesOf(family: 4 | 6, mtuBytes: number): number {
  const seg = tcpSegment(family, mtuBytes);
  return seg.ipBytes - seg.payloadBytes;
}

/** The counting rules: name (its comment) and match. A segment's name alone counts all DSCPs. */
function countingRules(family: 4 | 6, mtuBytes: number): CountingRule[] {
  const headerBytes = headerBytesOf(family, mtuBytes);
  const matches: Record<Segment, string[]> = {
    syn: ['--syn'],
    bare: ['!', '--syn', '-m', 'length', '--length', `0:${headerBytes}`],
    data: ['!', '--syn', '-m', 'length', '--length', `${headerBytes + 1}:65535`],
  };
  const rules: CountingRule[] = [];
  for (const svc of SERVICES) {
    for (const segment of SEGMENTS) {
      const match = ['-p', 'tcp', '--dport', String(svc.port), ...matches[segment]];
      rules.push([`${svc.port}-${segment}`, match]);
      for (const dscp of DSCPS) rules.push([`${svc.port}-${segment}-${dscp}`, [...match, '-m', 'dscp', '--dscp', String(dscp)]]);
    }
  }
  return rules;
}

function packets(counts: Map<string, RuleCount>, name: string): number {
  return (counts.get(name) as RuleCount).packets;
}

/** "bare 9 [8:3 10:6]": a segment's total and its non-zero DSCPs. */
function showSegment(counts: Map<string, RuleCount>, port: number, segment: Segment): string {
  const byDscp = DSCPS.map((d) => [d, packets(counts, `${port}-${segment}-${d}`)]).filter(([, n]) => n > 0).map(([d, n]) => `${d}:${n}`);
  return `${segment} ${packets(counts, `${port}-${segment}`)} [${byDscp.join(' ')}]`;
}

/** The payload bytes of the port's payload segments with `dscp`: IP bytes less the headers. */
function payloadBytes(counts: Map<string, RuleCount>, port: number, dscp: number, headerBytes: number): number {
  const data = counts.get(`${port}-data-${dscp}`) as RuleCount;
  return data.bytes - data.packets * headerBytes;
}

/** One line of what the server counted for a service. */
function describe(counts: Map<string, RuleCount>, svc: Service, writtenBytes: number, headerBytes: number): string {
  const segments = SEGMENTS.map((s) => showSegment(counts, svc.port, s)).join(', ');
  const payload = payloadBytes(counts, svc.port, svc.dscp, headerBytes);
  return `${svc.port} ${svc.label} → ${svc.dscp}: ${segments}, payload ${payload} B with DSCP ${svc.dscp}, client wrote ${writtenBytes} B`;
}

/** Asserts what the server counted for one service (see the header). */
function checkService(counts: Map<string, RuleCount>, svc: Service, writtenBytes: number, headerBytes: number, what: string): void {
  const p = svc.port;
  const say = `${what}, ${describe(counts, svc, writtenBytes, headerBytes)}`;
  assert.equal(packets(counts, `${p}-syn`), CONNECTIONS, `${say}: want ${CONNECTIONS} SYNs`);
  assert.equal(packets(counts, `${p}-syn-${CS1}`), CONNECTIONS, `${say}: every SYN must carry DSCP ${CS1} (l7 pending)`);

  const bare = packets(counts, `${p}-bare`);
  assert.equal(packets(counts, `${p}-bare-${CS1}`), CONNECTIONS, `${say}: want exactly the ${CONNECTIONS} handshake ACKs with DSCP ${CS1}`);
  assert.equal(packets(counts, `${p}-bare-${svc.dscp}`), bare - CONNECTIONS, `${say}: every bare segment after the handshake must carry DSCP ${svc.dscp}`);

  const data = packets(counts, `${p}-data-${svc.dscp}`);
  assert.ok(data >= CONNECTIONS, `${say}: fewer payload segments with DSCP ${svc.dscp} than connections`);
  assert.equal(data, packets(counts, `${p}-data`), `${say}: every payload segment must carry DSCP ${svc.dscp}`);
  assert.equal(payloadBytes(counts, p, svc.dscp, headerBytes), writtenBytes, `${say}: the payload counted with DSCP ${svc.dscp} must be the bytes the client wrote`);
}

async function checkFamily(t: TestContext, lab: Lab, family: 4 | 6, mtuBytes: number, handshake: boolean): Promise<void> {
  const ip = `IPv${family}`;
  await addCountingRules(lab, 'server', family, countingRules(family, mtuBytes));
  const t0 = Date.now();
  const written = await runClient(lab, family, handshake);
  const clientMs = Date.now() - t0;
  const counts = await readCountingRules(lab, 'server', family, countingRules(family, mtuBytes));
  const headerBytes = headerBytesOf(family, mtuBytes);
  const lines = SERVICES.map((svc) => describe(counts, svc, written.get(svc.port) ?? 0, headerBytes));
  t.diagnostic(`${ip}: ${CONNECTIONS} connections per service in ${clientMs} ms; the server counted:\n  ${lines.join('\n  ')}`);
  for (const svc of SERVICES) checkService(counts, svc, written.get(svc.port) ?? 0, headerBytes, ip);
}

it('l7 and l7.host classify real HTTP, TLS and SSH traffic from the deciding packet on (DSCP 10, 18, 26; other hosts 0), the handshake as pending (8), IPv4 and IPv6', { timeout: 60_000 }, (t) =>
  withLab('l7', async ({ lab, dir, startSluice }) => {
    const mtuBytes = await checkWirePath(lab, 'client');
    // No SACK blocks: an ACK carrying one would be longer than a bare segment and count as payload.
    await setSysctl(lab.netns('client'), 'net.ipv4.tcp_sack', '0');
    const dev = lab.end('client', 'server').dev;
    const config = dir.write('sluice.yaml', configYaml({ queue: queueNumber(), links: [{ interface: dev, egressBps: LINK_BPS }], classes: CLASSES }));
    const cert = await makeCert(dir.path);
    t.diagnostic(cert === null ? 'openssl is not installed: the TLS servers close after the ClientHello' : 'TLS servers with a self-signed certificate');
    const servers = await startServers(lab, cert);
    try {
      const sluice = await startSluice('client', config);
      try {
        await checkFamily(t, lab, 4, mtuBytes, cert !== null);
        await checkFamily(t, lab, 6, mtuBytes, cert !== null);
      } catch (err) {
        t.diagnostic(`sluice said:\n${sluice.output}`);
        throw err;
      }
      assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
      assert.match(sluice.output, /\| classifies by application protocol\n/);
    } finally {
      servers.kill();
    }
  }, (name) => Lab.pair({ name })));
