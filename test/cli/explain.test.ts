/**
 * `sluice explain`: run in-process through runCli on a configuration with nested classes and a
 * per-packet rule; a SYN and a data packet of one flow, the ✓/✗ marks, and one-line failures.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseFlowDescription } from '../../src/cli/explain.js';
import { runCli } from '../../src/cli/main.js';
import { Proto, TcpFlag } from '../../src/packet/types.js';

const CONFIG = `links:
  - interface: eth0
    name: wan
    egress: 20mbit
    ingress: 95mbit
classes:
  interactive:
    rate: 2mbit
    match: tcp.syn or tcp.pure_ack
  web:
    rate: 8mbit
    match: proto == "tcp" and rport in [80, 443]
    classes:
      tls:
        rate: 4mbit
        match: rport == 443
      plain:
        rate: 2mbit
        match: rport == 80
  bulk:
    rate: 2mbit
    match: flow.bytes > 10MB
`;

let dir = '';
let file = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-explain-'));
  file = join(dir, 'sluice.yaml');
  writeFileSync(file, CONFIG);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function explain(...flow: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['explain', '-c', file, ...flow], { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

/** The lines of one link direction's section. */
function section(out: string, header: string): string[] {
  const blocks = out.split(/^(?=link )/m);
  const block = blocks.find((b) => b.startsWith(header));
  assert.ok(block, `no section '${header}' in:\n${out}`);
  return block.trimEnd().split('\n');
}

describe('sluice explain', () => {
  it('puts the SYN in the per-packet class, and says the flow itself belongs to web/tls', async () => {
    const r = await explain('tcp', '192.168.1.10:51000', '->', '1.2.3.4:443', 'syn');
    assert.equal(r.code, 0, r.err);
    const lines = section(r.out, 'link wan egress');
    assert.match(lines[0], /tcp 192\.168\.1\.10:51000 -> 1\.2\.3\.4:443 syn, 40 bytes/);
    assert.match(lines[1], /interactive\s+✓ matched\s+\[per-packet: reads tcp\.syn, tcp\.pure_ack\]/);
    assert.ok(lines.includes('      tcp.syn ✓ or tcp.pure_ack ✗'), lines.join('\n'));
    assert.match(r.out, /web\s+· not tried/);
    assert.ok(lines.includes('  class: interactive'));
    assert.match(lines[lines.length - 1], /flow-level class web\/tls; this packet alone goes to interactive because a per-packet rule held/);
    // Without a direction the ingress side explains the reply of the same flow.
    const reply = section(r.out, 'link wan ingress');
    assert.match(reply[0], /the reply: tcp 1\.2\.3\.4:443 -> 192\.168\.1\.10:51000 syn/);
    assert.ok(reply.includes('  class: interactive'));
  });

  it('walks a data packet of the same flow down into web/tls, marking each part', async () => {
    const r = await explain('egress', 'tcp 192.168.1.10:51000 -> 1.2.3.4:443 ack psh length=1040');
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /ingress/);
    const lines = section(r.out, 'link wan egress');
    assert.deepEqual(lines.slice(1), [
      '  interactive  ✗ no match  [per-packet: reads tcp.syn, tcp.pure_ack]',
      '      tcp.syn ✗ or tcp.pure_ack ✗',
      '      (tcp.syn = false, tcp.pure_ack = false)',
      '  web          ✓ matched  [flow-level: cached per flow]',
      '      proto == "tcp" ✓ and rport in [80, 443] ✓',
      '      (proto = tcp, rport = 443)',
      '    tls        ✓ matched  [flow-level: cached per flow]',
      '        rport == 443 ✓',
      '        (rport = 443)',
      '    plain      · not tried (an earlier class matched)',
      '    default    · not tried (an earlier class matched)',
      '  bulk         · not tried (an earlier class matched)',
      '  default      · not tried (an earlier class matched)',
      '  class: web/tls',
      '  flow-level class web/tls; per-packet rules are tried on every packet of the flow, and none held for this one',
    ]);
  });

  it('shows a failing part and the fallback to the link default', async () => {
    const r = await explain('egress', 'tcp 192.168.1.10:51000 -> 1.2.3.4:22 payload=100');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /proto == "tcp" ✓ and rport in \[80, 443\] ✗/);
    assert.match(r.out, /flow\.bytes > 10MB ✗/);
    assert.match(r.out, /default\s+✓ no rule/);
    assert.match(r.out, /class: default\n/);
  });

  it('takes flow figures with units: a big flow goes to bulk, packet by packet', async () => {
    const r = await explain('egress', 'tcp 192.168.1.10:51000 -> 1.2.3.4:22 payload=100 flow.bytes=20MB');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /bulk\s+✓ matched\s+\[per-packet: reads flow\.bytes\]/);
    assert.match(r.out, /\(flow\.bytes = 20000000\)/);
    assert.match(r.out, /class: bulk\n/);
  });

  it('explains an IPv6 flow given with bracketed ports', async () => {
    const r = await explain('ingress', 'udp', '[2001:db8::5]:5000', '->', '[2001:db8::1]:80');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /link wan ingress, the packet: udp \[2001:db8::5\]:5000 -> \[2001:db8::1\]:80, 48 bytes/);
    assert.match(r.out, /proto == "tcp" ✗ and rport in \[80, 443\] ✗/);
    assert.match(r.out, /\(proto = udp, rport = 5000\)/, 'on ingress the remote port is the source port');
  });

  const failures: Array<[string, string[], RegExp]> = [
    ['a syntax error', ['tcp 192.168.1.10:51000 1.2.3.4:443'], /^sluice: flow description: expected '->' between 192\.168\.1\.10:51000 and 1\.2\.3\.4:443$/],
    ['an address family mismatch', ['tcp 192.168.1.10:51000 -> [2001:db8::1]:443'], /^sluice: flow description: 192\.168\.1\.10 is IPv4 but 2001:db8::1 is IPv6$/],
    ['an attribute the description itself gives', ['tcp 192.168.1.10:51000 -> 1.2.3.4:443 ipv=6'], /^sluice: flow description: attribute 'ipv' cannot be given in a flow description yet$/],
    ['a misspelt attribute', ['tcp 192.168.1.10:1 -> 1.2.3.4:443 lenght=60'], /attribute 'lenght' is not supported yet \(did you mean 'length'\?\)$/],
    ['a length shorter than the headers', ['tcp 192.168.1.10:1 -> 1.2.3.4:443 length=30'], /length=30 is shorter than the 40 bytes of headers$/],
    ['ports on icmp', ['icmp 192.168.1.10:1 -> 1.2.3.4'], /icmp has no ports$/],
    ['an unknown protocol', ['tpc 192.168.1.10:1 -> 1.2.3.4:443'], /'tpc' is not a protocol/],
    ['an unknown link', ['link lan tcp 192.168.1.10:1 -> 1.2.3.4:443'], /no link named 'lan' \(links: wan\)$/],
    ['a bad DSCP name', ['udp 192.168.1.10:1 -> 1.2.3.4:53 dscp=fast'], /dscp=fast: expected 0\.\.63 or one of be, df/],
  ];
  for (const [what, flow, message] of failures) {
    it(`refuses ${what} in one line, exit 1`, async () => {
      const r = await explain(...flow);
      assert.equal(r.code, 1);
      assert.equal(r.out, '');
      assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
      assert.match(r.err.trimEnd(), message);
    });
  }

  it('refuses a missing configuration file in one line', async () => {
    let err = '';
    const code = await runCli(['explain', '-c', join(dir, 'none.yaml'), 'tcp 1.1.1.1:1 -> 2.2.2.2:2'], { out: () => {}, err: (t) => (err += t) });
    assert.equal(code, 1);
    assert.match(err, /none\.yaml: no such configuration file\n$/);
  });
});

describe('parseFlowDescription', () => {
  it('reads flags, sizes, DSCP names and the direction into a packet spec', () => {
    const d = parseFlowDescription(['ingress tcp 10.0.0.1:1000->10.0.0.2:22 syn ack length=60 dscp=ef ttl=3 flow.age=2s flow.rate=1mbit']);
    assert.equal(d.direction, 'ingress');
    assert.deepEqual(
      { ...d.spec },
      { ipVersion: 4, src: '10.0.0.1', dst: '10.0.0.2', proto: Proto.TCP, sport: 1000, dport: 22, tcpFlags: TcpFlag.SYN | TcpFlag.ACK, dscp: 46, ecn: undefined, ttl: 3, payloadBytes: 20 },
    );
    assert.equal(d.flowAgeUs, 2_000_000);
    assert.equal(d.flowRateBps, 1_000_000);
  });

  it('makes a TCP packet without flags a bare ACK, and takes icmp types', () => {
    assert.equal(parseFlowDescription(['tcp', '1.1.1.1:1', '->', '2.2.2.2:2']).spec.tcpFlags, TcpFlag.ACK);
    const icmp = parseFlowDescription(['icmpv6 2001:db8::1 -> 2001:db8::2 icmp.type=129']).spec;
    assert.deepEqual([icmp.proto, icmp.ipVersion, icmp.icmpType], [Proto.ICMPV6, 6, 129]);
  });
});

describe('flow facts in a description: owner, application, country', () => {
  const FACTS = `links:
  - interface: eth0
    egress: 20mbit
classes:
  p2p:
    rate: 2mbit
    match: user == "fred" and cmd in ["amule", "transmission-daemon"]
  slovak:
    rate: 2mbit
    match: cc == "SK"
  tls:
    rate: 5mbit
    match: l7 == "tls" and l7.host ~ "example"
  default:
    rate: 1mbit
`;
  let factsFile = '';
  before(() => {
    factsFile = join(dir, 'facts.yaml');
    writeFileSync(factsFile, FACTS);
  });
  const run = async (...flow: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli(['explain', '-c', factsFile, 'egress', ...flow], { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  };

  it('user= and cmd= give the flow an owner', async () => {
    const r = await run('tcp', '192.168.1.10:51000', '->', '8.8.8.8:443', 'user=fred', 'cmd=amule');
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /user == "fred" ✓ and cmd in \["amule", "transmission-daemon"\] ✓/);
    assert.match(r.out, /class: p2p/);
  });

  it('without an owner the process rule does not hold (no process), and cc is looked up in the shipped database', async () => {
    const r = await run('tcp', '192.168.1.10:51000', '->', '8.8.8.8:443');
    assert.match(r.out, /\(user = \(none\), cmd = \(none\)\)/);
    assert.match(r.out, /\(cc = "US"\)/);
    assert.match(r.out, /class: default/);
  });

  it('cc= overrides the lookup; l7 and host describe the application; l7 absent is pending', async () => {
    assert.match((await run('tcp', '192.168.1.10:51000', '->', '8.8.8.8:443', 'cc=sk')).out, /class: slovak/);
    const tls = await run('tcp', '192.168.1.10:51000', '->', '8.8.8.8:443', 'l7=tls', 'host=WWW.Example.com');
    assert.match(tls.out, /\(l7 = tls, l7\.host = "www\.example\.com"\)/);
    assert.match(tls.out, /class: tls/);
    assert.match((await run('tcp', '192.168.1.10:51000', '->', '8.8.8.8:443')).out, /\(l7 = pending, l7\.host = \(none\)\)/);
  });

  it('impossible fact values are one-line errors', async () => {
    const bad = await run('tcp', '192.168.1.10:51000', '->', '8.8.8.8:443', 'l7=bittorent');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /l7=bittorent: expected one of pending, unknown, http/);
    assert.match((await run('tcp', '192.168.1.10:51000', '->', '8.8.8.8:443', 'cc=Slovakia')).err, /two-letter country code/);
  });
});

describe('interfaces and the mark in a description', () => {
  let ifFile = '';
  before(() => {
    ifFile = join(dir, 'interfaces.yaml');
    writeFileSync(ifFile, `links:
  - interface: eth0
    egress: 20mbit
classes:
  lan:
    rate: 2mbit
    match: iif == "lan0"
  local:
    rate: 2mbit
    match: iif == "" and oif == "eth0"
  default:
    rate: 1mbit
`);
  });
  const run = async (...flow: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli(['explain', '-c', ifFile, 'egress', ...flow], { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  };

  it('by default the link is the egress packet\'s oif and there is no iif (this host sent it); iif= names where it came from', async () => {
    assert.match((await run('udp', '10.0.0.2:1', '->', '1.2.3.4:2')).out, /class: local/);
    assert.match((await run('udp', '10.0.0.2:1', '->', '1.2.3.4:2', 'iif=lan0')).out, /class: lan/);
  });

  it('mark= takes decimal or hex; anything else is one line', async () => {
    assert.equal((await run('udp', '10.0.0.2:1', '->', '1.2.3.4:2', 'mark=0x10')).code, 0);
    const bad = await run('udp', '10.0.0.2:1', '->', '1.2.3.4:2', 'mark=0x1g');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /mark=0x1g: expected a number 0\.\.0xffffffff/);
  });
});
