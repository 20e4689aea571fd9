/**
 * `sluice run` on a NAT router in the lab (root; without root the test fails saying so): lan client —
 * router — wan server, where the router masquerades everything leaving by its WAN interface and the
 * server has no route to the LAN (so nothing from the LAN reaches it un-NATed). sluice on the router
 * shapes both directions of the WAN interface at 12 Mbit/s, with a class `lan` for the LAN client's
 * address (3 Mbit/s, ceiling 3 Mbit/s) and `default` for everything else:
 *
 * (a) upload: TCP from the LAN client to the server, masqueraded. Egress is queued at POSTROUTING
 *     before source NAT, so sluice sees the LAN address, and the goodput must hold `lan`'s 3 Mbit/s
 *     within 3% (had sluice seen the router's address, the flow would get `default`'s 12 Mbit/s).
 * (b) download: TCP from the server to the LAN client through a port forward (DNAT) on the router,
 *     the only way a server can open a connection to a masqueraded host. Ingress is queued at FORWARD,
 *     after destination NAT, so it must hold `lan`'s 3 Mbit/s as well.
 * (c) both directions of each connection meet in the one flow classified by the LAN-side address:
 *     the upload's ACKs reach the router addressed to the router itself and are un-NATed only in
 *     PREROUTING, the download's ACKs leave with the client's address still in place. By the class
 *     counters `sluice run -v` prints, `default` carries (next to) nothing in either direction,
 *     far less than either connection's ACKs alone.
 *
 * Traffic stays inside the lab's namespaces; sluice, the agents and the lab are removed by withLab.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Lab } from '../../src/lab/index.js';
import { goodputBps, runAgent, startAgent, tcpBulk } from '../../src/lab/traffic/index.js';
import {
  BULK_MS, checkWirePath, classBytesFromSummaries, configYaml, GOODPUT_TOLERANCE, queueNumber, STEADY_FROM_MS, STEADY_TO_MS, summaryBlocks,
  tcpSegment, tcpWireRatio, withLab,
} from './support.js';

const LINK_BPS = 12_000_000;
const LAN_BPS = 3_000_000;
/** Ports of this test's two connections (the server's upload sink; the router's forwarded port). */
const UPLOAD_PORT = 5601;
const DOWNLOAD_PORT = 5602;
/** An agent server's life beyond the flow it serves: its own startup, the sender's startup and close. */
const SINK_EXTRA_MS = 40_000;
/** A bare ACK of a TCP segment with timestamps over IPv4: 20 + 32 bytes. */
const ACK_IP_BYTES = 52;

/** client — router — server; the client routes through the router, the router through the server, the server nowhere. */
function natLab(name: string): Promise<Lab> {
  return Lab.create({
    name,
    hosts: [{ name: 'client', gateway: 'router' }, { name: 'router', forward: true, gateway: 'server' }, { name: 'server' }],
    links: [
      { a: 'client', b: 'router' },
      { a: 'router', b: 'server' },
    ],
  });
}

/**
 * Bulk TCP from the server to the LAN client through the router's forwarded port: the sender dials the
 * router's WAN address (tcpBulk would dial the client's own address, which the server cannot reach).
 */
async function forwardedDownload(lab: Lab, routerWan: string): Promise<{ binsBytes: number[]; bytes: number }> {
  const sink = startAgent(lab, 'client', 'tcp-sink', { port: DOWNLOAD_PORT, family: 4, lifetimeMs: BULK_MS + SINK_EXTRA_MS });
  try {
    await sink.ready;
    await runAgent(lab, 'server', 'tcp-bulk', { host: routerWan, port: DOWNLOAD_PORT, family: 4, durationMs: BULK_MS });
    sink.stop();
    return await sink.result;
  } finally {
    sink.kill();
  }
}

it('on a masquerading router, upload and download of a LAN host are shaped to its class, both directions classified by its LAN address', { timeout: 150_000 }, (t) =>
  withLab('nat', async ({ lab, dir, startSluice }) => {
    const wan = lab.end('router', 'server').dev;
    const clientAddr = lab.address('client', 4);
    const routerWan = lab.address('router', 4, 'server');
    await lab.exec('router', ['iptables', '-w', '-t', 'nat', '-A', 'POSTROUTING', '-o', wan, '-j', 'MASQUERADE']);
    await lab.exec('router', ['iptables', '-w', '-t', 'nat', '-A', 'PREROUTING', '-i', wan, '-p', 'tcp', '--dport', String(DOWNLOAD_PORT), '-j', 'DNAT', '--to-destination', clientAddr]);
    const route = await lab.exec('server', ['ip', '-4', 'route', 'get', clientAddr], { check: false });
    assert.notEqual(route.exitCode, 0, `the server must not reach the LAN without NAT, but has a route: ${route.stdout}`);

    const classes = [
      '  lan:',
      `    rate: ${LAN_BPS / 1e6}mbit`,
      `    ceil: ${LAN_BPS / 1e6}mbit`,
      `    match: laddr == ${clientAddr}`,
      '  default:',
      `    rate: ${(LINK_BPS - LAN_BPS) / 1e6}mbit`,
      '    ceil: 100%',
      '',
    ].join('\n');
    const config = dir.write('sluice.yaml', configYaml({ queue: queueNumber(), links: [{ interface: wan, egressBps: LINK_BPS, ingressBps: LINK_BPS }], classes }));
    const sluice = await startSluice('router', config, ['-v']);

    const mtu = await checkWirePath(lab, 'client');
    const expected = LAN_BPS * tcpWireRatio(4, mtu);
    const check = (what: string, bulk: { binsBytes: number[] }): void => {
      const goodput = goodputBps(bulk, STEADY_FROM_MS, STEADY_TO_MS);
      const error = goodput / expected - 1;
      t.diagnostic(`${what}: goodput ${(goodput / 1e6).toFixed(4)} Mbit/s, expected ${(expected / 1e6).toFixed(4)} (class lan), error ${(error * 100).toFixed(2)}%`);
      assert.ok(Math.abs(error) <= GOODPUT_TOLERANCE, `${what}: goodput ${(goodput / 1e6).toFixed(4)} Mbit/s is ${(error * 100).toFixed(2)}% from lan's ${(expected / 1e6).toFixed(4)} (bins: ${bulk.binsBytes.join(',')})`);
    };
    const upload = await tcpBulk(lab, { from: 'client', to: 'server', port: UPLOAD_PORT, durationMs: BULK_MS });
    check('upload through masquerade', upload);
    const download = await forwardedDownload(lab, routerWan);
    check('download through the port forward', download);

    assert.equal(await sluice.stop('SIGTERM'), 0, sluice.output);
    for (const block of summaryBlocks(sluice.output)) t.diagnostic(block);
    const bytes = classBytesFromSummaries(sluice.output);
    const sent = (direction: 'egress' | 'ingress', cls: string): number => bytes.get(`${wan} ${direction} ${cls}`) ?? 0;
    // A receiver acknowledges about every second full segment: roughly the fewest ACK bytes each connection sent.
    const payload = tcpSegment(4, mtu).payloadBytes;
    const uploadAcks = (upload.bytes / (2 * payload)) * ACK_IP_BYTES;
    const downloadAcks = (download.bytes / (2 * payload)) * ACK_IP_BYTES;
    t.diagnostic(
      `class bytes: lan egress ${Math.round(sent('egress', 'lan'))}, ingress ${Math.round(sent('ingress', 'lan'))}; ` +
        `default egress ${Math.round(sent('egress', 'default'))}, ingress ${Math.round(sent('ingress', 'default'))}; ` +
        `ACKs at least: upload ${Math.round(uploadAcks)}, download ${Math.round(downloadAcks)}`,
    );
    assert.ok(sent('egress', 'lan') >= upload.bytes, `lan egress carried ${sent('egress', 'lan')} bytes, less than the upload's ${upload.bytes}`);
    assert.ok(sent('ingress', 'lan') >= download.bytes, `lan ingress carried ${sent('ingress', 'lan')} bytes, less than the download's ${download.bytes}`);
    assert.ok(sent('ingress', 'default') < uploadAcks / 4, `default ingress carried ${sent('ingress', 'default')} bytes: the upload's ACKs (≥ ${Math.round(uploadAcks)}) were not classified by the LAN address`);
    assert.ok(sent('egress', 'default') < downloadAcks / 4, `default egress carried ${sent('egress', 'default')} bytes: the download's ACKs (≥ ${Math.round(downloadAcks)}) were not classified by the LAN address`);
  }, natLab));
