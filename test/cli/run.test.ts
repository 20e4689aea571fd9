/**
 * `sluice run`'s refusals, in-process and touching nothing in the kernel: a bad configuration
 * (problems as `sluice check` prints them, exit 1), not root, a datapath it cannot drive yet, a
 * missing interface, -v with -q (one line each, exit 2, no stack trace; a json line when the file
 * asks for json). Shaping itself is test/e2e/run.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCommand, type RunCommandOptions } from '../../src/cli/run.js';

async function run(configText: string | null, opts: RunCommandOptions = {}): Promise<{ code: number; out: string; err: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-run-'));
  try {
    const file = join(dir, 'sluice.yaml');
    if (configText !== null) writeFileSync(file, configText);
    let out = '';
    let err = '';
    const code = await runCommand(file, { out: (t) => (out += t), err: (t) => (err += t) }, opts);
    return { code, out, err: err.replaceAll(dir, 'DIR') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GOOD = 'links:\n  - interface: nosuch-if0\n    egress: 5mbit\n';

describe('sluice run refuses', () => {
  it('a missing configuration file, exit 1', async () => {
    const r = await run(null, { isRoot: true });
    assert.equal(r.code, 1);
    assert.equal(r.err, 'sluice: DIR/sluice.yaml: no such configuration file\n');
  });

  it('a bad configuration with file:line:col problems, exit 1, before checking for root', async () => {
    const r = await run('links:\n  - interface: eth0\n    egress: 5 furlongs\n', { isRoot: false });
    assert.equal(r.code, 1);
    assert.match(r.err, /^DIR\/sluice\.yaml:3:\d+: links\[0\]\.egress: /);
    assert.match(r.err, /DIR\/sluice\.yaml: 1 problem\n$/);
    assert.equal(r.out, '');
  });

  it('an exempt rule iptables cannot express, as a configuration problem, exit 1, before checking for root', async () => {
    const r = await run(`datapath:\n  exempt: ["dport == 22"]\n${GOOD}`, { isRoot: false });
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      "DIR/sluice.yaml:2:13: datapath.exempt[0]: 'dport' holds in one direction only; exemptions are written with laddr/raddr/lport/rport, which hold in both directions — write rport instead of dport\nDIR/sluice.yaml: 1 problem\n",
    );
  });

  it('to run without root, in one line, exit 2, also with exemptions it can express (only the root check stops it)', async () => {
    const r = await run(`datapath:\n  exempt: ["proto == \\"tcp\\" and lport == 22"]\n${GOOD}`, { isRoot: false });
    assert.equal(r.code, 2);
    assert.equal(r.err, 'sluice: sluice run needs root (it binds an NFQUEUE queue and installs iptables rules): run it as root\n');
  });

  it('to run without root, in one line, exit 2', async () => {
    const r = await run(GOOD, { isRoot: false });
    assert.equal(r.code, 2);
    assert.equal(r.err, 'sluice: sluice run needs root (it binds an NFQUEUE queue and installs iptables rules): run it as root\n');
  });

  it('a datapath kind other than nfqueue, and a queue range, in one line each, exit 2', async () => {
    const sim = await run(`datapath:\n  kind: sim\n${GOOD}`, { isRoot: true });
    assert.equal(sim.code, 2);
    assert.match(sim.err, /^sluice: datapath\.kind: sim: sluice run drives only the nfqueue datapath so far[^\n]*\n$/);
    const range = await run(`datapath:\n  queues: 3-4\n${GOOD}`, { isRoot: true });
    assert.equal(range.code, 2);
    assert.match(range.err, /^sluice: datapath\.queues: 3-4: sluice run takes one queue so far[^\n]*\n$/);
  });

  it('-v with -q, in one line, exit 2, before reading the file', async () => {
    const r = await run(null, { isRoot: true, verbose: true, quiet: true });
    assert.equal(r.code, 2);
    assert.equal(r.err, 'sluice: -v and -q ask for opposite things: give one of them\n');
  });

  it('in the format the file\'s log section asks for once the file is read: a json line with level error', async () => {
    const r = await run(`log:\n  format: json\n${GOOD}`, { isRoot: false });
    assert.equal(r.code, 2);
    assert.match(r.err, /^\{[^\n]*\}\n$/);
    const event = JSON.parse(r.err) as { time: string; level: string; msg: string };
    assert.equal(event.level, 'error');
    assert.equal(event.msg, 'sluice run needs root (it binds an NFQUEUE queue and installs iptables rules): run it as root');
    assert.ok(!Number.isNaN(Date.parse(event.time)));
  });

  it('a link on an interface that does not exist, in one line, exit 2, before touching the kernel', async () => {
    const r = await run(GOOD, { isRoot: true });
    assert.equal(r.code, 2);
    assert.equal(r.err, 'sluice: links: interface nosuch-if0 does not exist in this network namespace (see `ip link`)\n');
    assert.equal(r.out, '');
  });
});
