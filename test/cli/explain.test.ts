/**
 * `sluice explain`: run in-process through runCli on a configuration with nested classes and a
 * per-packet rule; a SYN and a data packet of one flow, the ✓/✗ marks, and one-line failures.
 * `sluice explain --flow ID` against a real engine behind the real control server: the flow's
 * facts, the class the engine has it in, an owner found late, a reload, and its errors.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NO_OWNER, type OwnerFacts } from '../../src/classify/context.js';
import { parseFlowDescription } from '../../src/cli/explain.js';
import { runCli } from '../../src/cli/main.js';
import { ControlServer } from '../../src/control/api/server.js';
import { parseConfigText } from '../../src/control/load.js';
import { resolveLinks } from '../../src/control/resolve.js';
import { Direction } from '../../src/datapath/types.js';
import type { Engine } from '../../src/engine/engine.js';
import { explainLiveFlow } from '../../src/engine/explain-flow.js';
import type { CountryAnswer, CountryLookup, OwnerAnswerSink, OwnerSource } from '../../src/engine/facts.js';
import { buildPacket } from '../../src/packet/build.js';
import { Proto, TcpFlag } from '../../src/packet/types.js';
import { batchOf, engineFor, RecordingDatapath } from '../engine/helpers.js';

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

describe('sluice explain --flow: a live flow of the daemon', () => {
  // The daemon played by a real engine (no root) behind the real control server.
  const LIVE = `links:
  - interface: eth0
    name: wan
    egress: 20mbit
    ingress: 95mbit
classes:
  fred:
    rate: 2mbit
    match: user == "fred"
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
  slovak:
    rate: 2mbit
    match: cc == "SK"
  default:
    rate: 1mbit
`;
  const FRED: OwnerFacts = { ...NO_OWNER, found: true, known: true, pid: 10, uid: 1000, gid: 1000, user: 'fred', group: 'fred', cmd: 'wget' };
  /** Owners found when the test says so; every address is in Slovakia. */
  class HandFacts implements OwnerSource, CountryLookup {
    waiting: Array<[number, number]> = [];
    answers: Array<[number, number, OwnerFacts]> = [];
    request(flow: number, generation: number): boolean {
      this.waiting.push([flow, generation]);
      return true;
    }
    fromKernel(): OwnerFacts {
      return NO_OWNER;
    }
    poll(sink: OwnerAnswerSink): number {
      for (const [flow, generation, owner] of this.answers) sink(flow, generation, owner);
      const n = this.answers.length;
      this.answers = [];
      return n;
    }
    lookup(_buf: Buffer, _offset: number, _ipVersion: number, out: CountryAnswer): void {
      out.cc = 'SK';
      out.name = 'Slovakia';
    }
  }
  const socket = (): string => join(dir, `live${Math.random().toString(36).slice(2, 8)}.sock`);
  let engine: Engine;
  let server: ControlServer;
  let path = '';
  let facts: HandFacts;
  let nowUs = 0;
  let handle = 1;
  const send = (spec: { src: string; dst: string; sport: number; dport: number }, dir: Direction, payloadBytes = 500): void => {
    const buf = buildPacket({ ipVersion: 4, proto: Proto.TCP, ...spec, tcpFlags: TcpFlag.ACK | TcpFlag.PSH, payloadBytes });
    nowUs += 1000;
    engine.receive(batchOf([{ handle: handle++, buf, dir, atUs: nowUs }]));
    engine.pump(nowUs);
  };
  const live = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli(['explain', ...args], { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  };
  const CLIENT = '192.168.1.10';
  const SERVER = '203.0.113.5';
  before(async () => {
    facts = new HandFacts();
    engine = engineFor(LIVE, new RecordingDatapath(), { countries: facts });
    path = socket();
    server = await ControlServer.listen(path, {
      status: () => assert.fail('not called'),
      flows: async () => ({ flows: [] }),
      explainFlow: async (id) => explainLiveFlow(engine, id, nowUs),
      reload: async () => ({ reloaded: true }),
      setLink: async () => ({ reloaded: true }),
      stop: () => undefined,
    });
  });
  after(() => server.close());

  it('walks the flow\'s typical packet each way, and says the flow is in the class the engine has it in', async () => {
    send({ src: CLIENT, dst: SERVER, sport: 51000, dport: 443 }, Direction.EGRESS, 1000);
    send({ src: SERVER, dst: CLIENT, sport: 443, dport: 51000 }, Direction.INGRESS, 0);
    const r = await live('--flow', '0', '--socket', path);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(lines[0], /^flow 0: tcp 192\.168\.1\.10:51000 > 203\.0\.113\.5:443 \(established, 1080B in 1ms\); no local process, cc SK$/);
    const egress = section(r.out, 'link wan egress');
    assert.equal(egress[0], "link wan egress, a typical packet of the flow (the initiator's): tcp 192.168.1.10:51000 -> 203.0.113.5:443 psh,ack, 1040 bytes");
    assert.ok(egress.includes('      user == "fred" ✗'), egress.join('\n'));
    assert.ok(egress.includes('      (user = (none))'));
    assert.ok(egress.includes('        rport == 443 ✓'));
    assert.ok(egress.includes('  class: web/tls'));
    assert.equal(egress[egress.length - 1], '  the flow is in web/tls now, put there by the rules above');
    const ingress = section(r.out, 'link wan ingress');
    assert.match(ingress[0], /\(the reply's\): tcp 203\.0\.113\.5:443 -> 192\.168\.1\.10:51000 ack, 40 bytes$/);
    assert.equal(ingress[ingress.length - 1], '  the flow is in web/tls now, put there by the rules above');
  });

  it('reads the engine\'s facts: the country it looks up, and an owner found after the flow was classified', async () => {
    // A new engine reading owners: the first packet waits for its owner, the wait runs out, the
    // flow goes to slovak by its country; then the owner is found: fred, on its next packet.
    engine = engineFor(LIVE, new RecordingDatapath(), { countries: facts, owners: facts, ownerWaitUs: 2000 });
    send({ src: CLIENT, dst: SERVER, sport: 40000, dport: 22 }, Direction.EGRESS);
    nowUs += 5000;
    engine.pump(nowUs);
    const before = await live('--flow', '0', '--socket', path);
    assert.equal(section(before.out, 'link wan egress').at(-1), '  the flow is in slovak now, put there by the rules above');
    assert.match(before.out, /\(cc = "SK"\)/);
    facts.answers.push([...facts.waiting[0], FRED]);
    engine.pump(nowUs);
    const after = await live('--flow', '0', '--socket', path);
    assert.equal(after.code, 0, after.err);
    assert.match(after.out.split('\n')[0], /; user fred, cmd wget, cc SK$/);
    const egress = section(after.out, 'link wan egress');
    assert.ok(egress.includes('      user == "fred" ✓'), egress.join('\n'));
    assert.equal(egress.at(-1), '  the engine put the flow in slovak before a fact it learnt since (its owner or application); its next packet classifies it again: it moves to fred');
    assert.equal(section(after.out, 'link wan ingress').at(-1), '  no packet of this flow has gone this way yet; one would go to fred');
  });

  it('explains against the configuration running now, and says when the flow was classified under the one before', async () => {
    engine = engineFor(LIVE, new RecordingDatapath(), { countries: facts });
    send({ src: CLIENT, dst: SERVER, sport: 51000, dport: 80 }, Direction.EGRESS);
    const r = parseConfigText(LIVE.replace('rport == 80', 'rport == 8080'), 'changed.yaml');
    assert.ok(r.ok);
    engine.reload(resolveLinks(r.config), nowUs);
    const out = await live('--flow', '0', '--socket', path);
    const egress = section(out.out, 'link wan egress');
    assert.ok(egress.includes('        rport == 8080 ✗'), 'the running rules, not the ones the flow was classified by');
    assert.ok(egress.includes('  class: web/default') || egress.includes('  class: default'), egress.join('\n'));
    assert.match(egress.at(-1) ?? '', /^ {2}the engine put the flow in web\/plain under the configuration before the last reload; its next packet classifies it again: it moves to \S+$/);
    send({ src: CLIENT, dst: SERVER, sport: 51000, dport: 80 }, Direction.EGRESS);
    assert.match(section((await live('--flow', '0', '--socket', path)).out, 'link wan egress').at(-1) ?? '', /^ {2}the flow is in \S+ now, put there by the rules above$/);
  });

  it('an id no live flow has: one line naming `sluice flows`, exit 1', async () => {
    const r = await live('--flow', '999', '--socket', path);
    assert.deepEqual([r.code, r.out, r.err], [1, '', 'sluice: no live flow 999 — `sluice flows` lists them\n']);
  });

  it('no daemon: the one line every daemon command gives, exit 2', async () => {
    const r = await live('--flow', '3', '--socket', join(dir, 'none.sock'));
    assert.equal(r.code, 2);
    assert.match(r.err, /^sluice is not running: no control socket at \S+none\.sock \(start it with `sluice run`, or pass --socket\)\n$/);
  });

  const usage: Array<[string, string[], RegExp]> = [
    ['with a described packet', ['--flow', '3', 'tcp', '1.1.1.1:1', '->', '2.2.2.2:2'], /--flow explains a live flow against the running configuration: give it without a described packet or -c/],
    ['with -c', ['-c', 'x.yaml', '--flow', '3'], /--flow explains a live flow .* without a described packet or -c/],
    ['with an id that is not a number', ['--flow', 'abc'], /--flow abc: expected a flow id, a whole number/],
    ['with an id beyond any flow table', ['--flow', '99999999999999999999999'], /--flow 99999999999999999999999: expected a flow id, a whole number/],
    ['and no packet either', [], /describe a packet .* or give --flow ID/],
  ];
  for (const [what, args, message] of usage) {
    it(`--flow ${what}: a usage error, exit 2`, async () => {
      const r = await live(...args);
      assert.equal(r.code, 2);
      assert.equal(r.out, '');
      assert.match(r.err, new RegExp(`^sluice: explain: ${message.source}.*\\n$`));
    });
  }
});
