/**
 * `sluice explain --flow ID` against the live daemon, in the lab (root): `sluice run` on the router
 * with a class for one TCP port while a bulk TCP flow goes from the client to the server through
 * it. The flow's id comes from `sluice flows --json`; explaining it names the class the engine has
 * it in and the rule that put it there, from the typical packet the initiator sends; an id no live
 * flow has is one line and exit 1.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlowRow } from '../../src/engine/snapshot.js';
import { tcpBulk } from '../../src/lab/traffic/index.js';
import { cli, configYaml, queueNumber, withLab } from './support.js';

const LINK_BPS = 20_000_000;
/** The flow lasts long enough to be listed and explained while it runs. */
const FLOW_MS = 5000;

it('explain --flow ID names the class a live TCP flow is in and the rule that put it there; an unknown id exits 1', { timeout: 60_000 }, (t) =>
  withLab('explainflow', async ({ lab, dir, startSluice }) => {
    const dev = lab.end('router', 'server').dev;
    const port = 40_000 + (process.pid % 20_000);
    const classes = `  bulk:
    rate: 4mbit
    ceil: 100%
    match: proto == "tcp" and rport == ${port}
  default:
    rate: 10mbit
    ceil: 100%
`;
    const file = dir.write('sluice.yaml', configYaml({ queue: queueNumber(), links: [{ interface: dev, egressBps: LINK_BPS }], classes }));
    const sluice = await startSluice('router', file);
    const traffic = tcpBulk(lab, { from: 'client', to: 'server', port, durationMs: FLOW_MS });
    // Awaited below; a failure before that must not surface as the generator's, killed on the way out.
    traffic.catch(() => undefined);

    let flow: FlowRow | undefined;
    for (const by = Date.now() + 10_000; flow === undefined && Date.now() < by; await sleep(200)) {
      const listed = await cli('flows', '--json', '--socket', sluice.socket);
      assert.equal(listed.code, 0, listed.err);
      flow = (JSON.parse(listed.out) as FlowRow[]).find((f) => f.proto === 6 && f.responderPort === port && f.egressClass !== null);
    }
    assert.ok(flow, 'the bulk flow is listed, classified');
    const client = lab.address('client', 4);

    const r = await cli('explain', '--flow', String(flow.id), '--socket', sluice.socket);
    t.diagnostic(`\n${r.out}`);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(lines[0], new RegExp(`^flow ${flow.id}: tcp ${client.replaceAll('.', '\\.')}:${flow.initiatorPort} > \\S+:${port} \\(`));
    const at = lines.findIndex((l) => l.startsWith(`link ${dev} egress, a typical packet of the flow (the initiator's): tcp ${client}:${flow.initiatorPort} -> `));
    assert.ok(at >= 0, 'the egress side explains the initiator\'s packets');
    const next = lines.findIndex((l, i) => i > at && l.startsWith('link '));
    const egress = lines.slice(at, next < 0 ? undefined : next);
    assert.match(egress[1], /^ {2}bulk +✓ matched +\[flow-level: cached per flow\]$/);
    assert.equal(egress[2], `      proto == "tcp" ✓ and rport == ${port} ✓`);
    assert.ok(egress.includes('  class: bulk'), egress.join('\n'));
    assert.ok(egress.includes('  the flow is in bulk now, put there by the rules above'), 'the engine\'s record and the explainer agree');

    const unknown = await cli('explain', '--flow', '999999', '--socket', sluice.socket);
    assert.deepEqual([unknown.code, unknown.out, unknown.err], [1, '', 'sluice: no live flow 999999 — `sluice flows` lists them\n']);

    const sent = await traffic;
    assert.ok(sent.bytes > 0, 'the flow carried data');
  }));
