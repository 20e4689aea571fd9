/**
 * `set_dscp` end to end in the lab (root; without root the test fails saying so): client — server,
 * sluice on the client shaping its egress toward the server at 100 Mbit/s with three classes:
 *
 *   voice    proto == "udp" and rport == 7001   set_dscp: EF    (46)
 *   bulk     proto == "tcp" and rport == 7002   set_dscp: af21  (18)
 *   default  everything else                    no rewrite      (DSCP stays 0)
 *
 * The judge is the receiving kernel. IPv4's receive path checks the header checksum and the total
 * length before the PREROUTING hook (ip_rcv_core) and drops a bad packet there, counting it in Ip
 * InHdrErrors (IpExt InCsumErrors) or IpExt InTruncatedPkts; so every packet a counting rule in the
 * server's mangle PREROUTING counts arrived with a valid checksum and whole. The rules (no target,
 * one per question, read by their comments) count per port: all packets, those with the class's DSCP
 * (`-m dscp`), for the bulk class those whose ECN field is ECT(0) or CE beside DSCP 18 (`-m ecn`),
 * and full-sized ones (`-m length`). The sender negotiates ECN (net.ipv4.tcp_ecn=1 in the client),
 * so its data segments leave as ECT(0) and a rewrite that clobbered the ECN bits shows as none.
 *
 * Per family (IPv4, then IPv6 through ip6tables, where there is no header checksum to get wrong but
 * the DSCP sits across two bytes) three flows at once: paced UDP to 7001, bulk TCP to 7002 and bulk
 * TCP to 7003, and the test asserts:
 *   - every UDP datagram sent reached the application and was counted with DSCP 46;
 *   - the bulk TCP flow delivered exactly the bytes sent (a rewritten packet trimmed to a short copy
 *     would be dropped at the receiver and resent for ever), every one of its packets carried DSCP 18,
 *     at least bytes / (payload of a full segment) of them, nearly all of those full-sized;
 *   - its data segments kept their ECN codepoint (ECT(0), or CE where sluice's CoDel marked);
 *   - the default class's flow delivered exactly the bytes sent with every packet at DSCP 0;
 *   - the server's header-error, checksum-error and truncation counters did not grow.
 *
 * Traffic stays inside the lab's namespaces; sluice, the agents and the lab (with the counting rules
 * in it) are removed by withLab.
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { Lab } from '../../src/lab/index.js';
import { tcpBulk, udpRate } from '../../src/lab/traffic/index.js';
import { setSysctl } from '../../src/lab/netns.js';
import { addCountingRules, readCountingRules, type CountingRule, type RuleCount } from './counting-rules.js';
import { checkWirePath, configYaml, queueNumber, tcpSegment, withLab } from './support.js';

const LINK_BPS = 100_000_000;
const EF_PORT = 7001;
const AF21_PORT = 7002;
const PLAIN_PORT = 7003;
const EF = 46;
const AF21 = 18;
const UDP_PAYLOAD_BYTES = 1200;
const UDP_RATE_BPS = 4_000_000;
const FLOW_MS = 2000;
/**
 * Share of the bulk flow's data that must be counted as ECN-capable, and as full-sized segments: the
 * rest is room for segments resent after a drop (Linux sends retransmissions Not-ECT) and for short
 * segments at the ends of writes. A rewrite that loses the ECN bits, or packets that do not arrive
 * whole, give 0.
 */
const MIN_SHARE = 0.9;

const CLASSES = [
  '  voice:',
  '    rate: 10mbit',
  '    prio: 0',
  `    match: proto == "udp" and rport == ${EF_PORT}`,
  '    set_dscp: EF',
  '  bulk:',
  '    rate: 60mbit',
  '    ceil: 100%',
  `    match: proto == "tcp" and rport == ${AF21_PORT}`,
  '    set_dscp: af21',
  '  default:',
  '    rate: 30mbit',
  '    ceil: 100%',
  '',
].join('\n');

/** The counting rules: name (its comment) and match. */
function countingRules(mtuBytes: number): CountingRule[] {
  const udp = ['-p', 'udp', '--dport', String(EF_PORT)];
  const bulk = ['-p', 'tcp', '--dport', String(AF21_PORT)];
  const bulkAf21 = [...bulk, '-m', 'dscp', '--dscp', String(AF21)];
  const plain = ['-p', 'tcp', '--dport', String(PLAIN_PORT)];
  return [
    ['udp', udp],
    ['udp-ef', [...udp, '-m', 'dscp', '--dscp', String(EF)]],
    ['bulk', bulk],
    ['bulk-af21', bulkAf21],
    ['bulk-af21-ect0', [...bulkAf21, '-m', 'ecn', '--ecn-ip-ect', '2']],
    ['bulk-af21-ce', [...bulkAf21, '-m', 'ecn', '--ecn-ip-ect', '3']],
    ['bulk-af21-full', [...bulkAf21, '-m', 'length', '--length', String(mtuBytes)]],
    ['plain', plain],
    ['plain-dscp0', [...plain, '-m', 'dscp', '--dscp', '0']],
  ];
}

/**
 * The server's counters of packets its IP layer refused (and the transport checksum failures), by
 * "Group.Name" from /proc/net/snmp and /proc/net/netstat, or by name from /proc/net/snmp6.
 */
const ERROR_COUNTERS: Record<4 | 6, readonly string[]> = {
  4: ['Ip.InHdrErrors', 'IpExt.InCsumErrors', 'IpExt.InTruncatedPkts', 'Udp.InCsumErrors', 'Tcp.InCsumErrors'],
  6: ['Ip6InHdrErrors', 'Ip6InTruncatedPkts', 'Udp6InCsumErrors', 'Tcp.InCsumErrors'],
};

async function errorCounters(lab: Lab, family: 4 | 6): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  const tables = (await lab.exec('server', ['cat', '/proc/net/snmp', '/proc/net/netstat'])).stdout.split('\n');
  for (let i = 0; i + 1 < tables.length; i++) {
    const names = tables[i].split(/\s+/);
    const row = tables[i + 1].split(/\s+/);
    if (names[0] !== row[0] || !/^[A-Za-z]+:$/.test(names[0]) || !/^-?\d+$/.test(row[1] ?? '')) continue;
    const group = names[0].slice(0, -1);
    names.forEach((name, k) => k > 0 && values.set(`${group}.${name}`, Number(row[k])));
  }
  for (const line of (await lab.exec('server', ['cat', '/proc/net/snmp6'])).stdout.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name !== undefined && value !== undefined) values.set(name, Number(value));
  }
  const picked = new Map<string, number>();
  for (const name of ERROR_COUNTERS[family]) {
    const value = values.get(name);
    assert.ok(value !== undefined, `the server's /proc/net counters have no ${name}`);
    picked.set(name, value);
  }
  return picked;
}

function settledValue<T>(s: PromiseSettledResult<T>): T {
  if (s.status === 'rejected') throw s.reason;
  return s.value;
}

function count(counts: Map<string, RuleCount>, name: string): RuleCount {
  const c = counts.get(name);
  assert.ok(c !== undefined, `no counting rule '${name}' in the server's mangle PREROUTING`);
  return c;
}

/** Runs the three flows over `family` and checks what the server's kernel counted. */
async function checkFamily(t: TestContext, lab: Lab, family: 4 | 6, mtuBytes: number): Promise<void> {
  const ip = `IPv${family}`;
  await addCountingRules(lab, 'server', family, countingRules(mtuBytes));
  const errorsBefore = await errorCounters(lab, family);
  const ends = { from: 'client', to: 'server', family } as const;
  // Settled rather than all: with broken checksums a TCP flow never connects and its agent fails
  // on its own timeout; the server's error counters then say why, so they are asserted first.
  const [udpRun, bulkRun, plainRun] = await Promise.allSettled([
    udpRate(lab, { ...ends, port: EF_PORT, rateBps: UDP_RATE_BPS, payloadBytes: UDP_PAYLOAD_BYTES, durationMs: FLOW_MS }),
    tcpBulk(lab, { ...ends, port: AF21_PORT, durationMs: FLOW_MS }),
    tcpBulk(lab, { ...ends, port: PLAIN_PORT, durationMs: FLOW_MS }),
  ]);
  const counts = await readCountingRules(lab, 'server', family, countingRules(mtuBytes));
  const errorsAfter = await errorCounters(lab, family);
  t.diagnostic(
    `${ip}: packets counted at the server per rule: ${[...counts].map(([name, c]) => `${name} ${c.packets}`).join(', ')} | ` +
      `server errors ${[...errorsAfter].map(([name, v]) => `${name} +${v - (errorsBefore.get(name) ?? 0)}`).join(', ')}`,
  );
  for (const [name, after] of errorsAfter) assert.equal(after - (errorsBefore.get(name) ?? 0), 0, `${ip}: the server counted ${name} during the run`);
  const udp = settledValue(udpRun);
  const bulk = settledValue(bulkRun);
  const plain = settledValue(plainRun);

  const segmentPayload = tcpSegment(family, mtuBytes).payloadBytes;
  const minSegments = Math.floor(bulk.bytes / segmentPayload);
  const af21 = count(counts, 'bulk-af21');
  const ect = count(counts, 'bulk-af21-ect0').packets + count(counts, 'bulk-af21-ce').packets;
  t.diagnostic(
    `${ip}: UDP sent ${udp.sent}, received ${udp.received} | ` +
      `bulk TCP sent ${bulk.sentBytes} B, received ${bulk.bytes} B (flushed ${bulk.flushed}), ${minSegments} full segments' worth, ` +
      `mean size with DSCP ${AF21} ${(af21.bytes / Math.max(1, af21.packets)).toFixed(1)} B | ` +
      `default TCP sent ${plain.sentBytes} B, received ${plain.bytes} B`,
  );

  assert.ok(udp.sent > 0, `${ip}: the UDP sender sent nothing`);
  assert.equal(udp.received, udp.sent, `${ip}: ${udp.sent} EF datagrams sent, ${udp.received} reached the application`);
  assert.equal(count(counts, 'udp').packets, udp.sent, `${ip}: the server counted ${count(counts, 'udp').packets} datagrams to ${EF_PORT}, ${udp.sent} were sent`);
  assert.equal(count(counts, 'udp-ef').packets, udp.sent, `${ip}: ${count(counts, 'udp-ef').packets} of ${udp.sent} datagrams arrived with DSCP ${EF}`);

  assert.ok(bulk.bytes > 0 && bulk.flushed, `${ip}: the af21 bulk flow received ${bulk.bytes} B and was ${bulk.flushed ? '' : 'not '}closed gracefully`);
  assert.equal(bulk.bytes, bulk.sentBytes, `${ip}: the af21 bulk flow sent ${bulk.sentBytes} B, ${bulk.bytes} B arrived`);
  assert.equal(af21.packets, count(counts, 'bulk').packets, `${ip}: ${af21.packets} of ${count(counts, 'bulk').packets} packets to ${AF21_PORT} carried DSCP ${AF21}`);
  assert.ok(af21.packets >= minSegments, `${ip}: ${af21.packets} packets with DSCP ${AF21} cannot carry ${bulk.bytes} B (${minSegments} full segments)`);
  assert.ok(count(counts, 'bulk-af21-full').packets >= minSegments * MIN_SHARE,
    `${ip}: only ${count(counts, 'bulk-af21-full').packets} ${mtuBytes}-byte packets with DSCP ${AF21}, want ${MIN_SHARE * 100}% of ${minSegments}`);
  assert.ok(ect >= minSegments * MIN_SHARE,
    `${ip}: only ${ect} packets with DSCP ${AF21} kept ECT(0)/CE, want ${MIN_SHARE * 100}% of ${minSegments} data segments (ECN bits lost in the rewrite?)`);

  assert.ok(plain.bytes > 0 && plain.flushed, `${ip}: the default flow received ${plain.bytes} B and was ${plain.flushed ? '' : 'not '}closed gracefully`);
  assert.equal(plain.bytes, plain.sentBytes, `${ip}: the default flow sent ${plain.sentBytes} B, ${plain.bytes} B arrived`);
  assert.ok(count(counts, 'plain').packets > 0, `${ip}: no packets to ${PLAIN_PORT} counted`);
  assert.equal(count(counts, 'plain-dscp0').packets, count(counts, 'plain').packets,
    `${ip}: ${count(counts, 'plain-dscp0').packets} of ${count(counts, 'plain').packets} packets of the default class kept DSCP 0`);
}

it('set_dscp rewrites EF and AF21 on release: valid IPv4 checksums, ECN kept, whole packets, default untouched (IPv4 and IPv6)', { timeout: 90_000 }, (t) =>
  withLab('dscp', async ({ lab, dir, startSluice }) => {
    const dev = lab.end('client', 'server').dev;
    await setSysctl(lab.netns('client'), 'net.ipv4.tcp_ecn', '1');
    const mtuBytes = await checkWirePath(lab, 'client');
    const config = dir.write('sluice.yaml', configYaml({ queue: queueNumber(), links: [{ interface: dev, egressBps: LINK_BPS }], classes: CLASSES }));
    const sluice = await startSluice('client', config);
    try {
      await checkFamily(t, lab, 4, mtuBytes);
      await checkFamily(t, lab, 6, mtuBytes);
    } catch (err) {
      t.diagnostic(`sluice said:\n${sluice.output}`);
      throw err;
    }
    assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
  }, (name) => Lab.pair({ name })));
