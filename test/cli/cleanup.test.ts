/**
 * `sluice cleanup`. In-process with a fake iptables (nothing touches the kernel): not root, a missing
 * iptables, the one-line summary, a family the kernel cannot manage. Then the real scenario in the
 * lab (root; without root the test fails saying so): `sluice run` in the server namespace of a pair,
 * cleanup refused while it holds its queue (naming its pid), SIGKILL leaving its chains stale,
 * cleanup removing them in both families while the user's own mangle rule stays, a second cleanup
 * finding nothing, and --force removing the rules of a running sluice, which still stops cleanly.
 *
 * The lab's namespaces and every process are removed afterwards, also on failure.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cleanupCommand, NEED_ROOT_TO_CLEANUP, type CleanupOptions } from '../../src/cli/cleanup.js';
import type { CommandResult } from '../../src/datapath/firewall/errors.js';
import type { CommandRunner } from '../../src/datapath/firewall/run.js';
import { Lab, NEED_ROOT, SluiceProcess, sluiceArgv } from '../../src/lab/index.js';
import { configYaml, queueNumber, TempDir } from '../e2e/support.js';

async function cleanup(opts: CleanupOptions): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await cleanupCommand({ out: (t) => (out += t), err: (t) => (err += t) }, opts);
  return { code, out, err };
}

const ok = (stdout: string): CommandResult => ({ exitCode: 0, stdout, stderr: '', spawnError: null });

/** A stale ipv4 install from a crash (no NFQUEUE rule left, so no queue to look up in /proc). */
const STALE_V4 = [
  '-P PREROUTING ACCEPT',
  '-N SLUICE-EGRESS',
  '-N SLUICE-INGRESS',
  '-A INPUT -i eth0 -m comment --comment sluice -j SLUICE-INGRESS',
  '-A FORWARD -i eth0 -m comment --comment sluice -j SLUICE-INGRESS',
  '-A POSTROUTING -o eth0 -j MARK --set-xmark 0x1/0xffffffff',
  '-A POSTROUTING -o eth0 -m comment --comment sluice -j SLUICE-EGRESS',
  '-A SLUICE-EGRESS -o lo -m comment --comment sluice -j RETURN',
  '-A SLUICE-INGRESS -i lo -m comment --comment sluice -j RETURN',
  '',
].join('\n');
const EMPTY = '-P PREROUTING ACCEPT\n-P POSTROUTING ACCEPT\n';

/** A fake iptables: `-S` answers from `listings` per tool; every restore script is recorded. */
function fakeIptables(listings: Record<string, CommandResult>): { run: CommandRunner; restores: string[]; calls: string[] } {
  const restores: string[] = [];
  const calls: string[] = [];
  const run: CommandRunner = async (file, args, stdin) => {
    calls.push(file);
    if (file.endsWith('-restore')) {
      restores.push(`${file}\n${stdin ?? ''}`);
      return ok('');
    }
    return listings[file];
  };
  return { run, restores, calls };
}

describe('sluice cleanup, in-process with a fake iptables', () => {
  it('refuses without root in one line, exit 2, before running anything', async () => {
    const fake = fakeIptables({});
    const r = await cleanup({ isRoot: false, run: fake.run });
    assert.equal(r.code, 2);
    assert.equal(r.err, `sluice: ${NEED_ROOT_TO_CLEANUP}\n`);
    assert.equal(r.out, '');
    assert.deepEqual(fake.calls, []);
  });

  it('a missing iptables binary says what to install, exit 2', async () => {
    const missing: CommandResult = { exitCode: null, stdout: '', stderr: '', spawnError: 'ENOENT' };
    const r = await cleanup({ isRoot: true, run: fakeIptables({ iptables: missing, ip6tables: missing }).run });
    assert.equal(r.code, 2);
    assert.equal(r.err, 'sluice: iptables is not installed: apt-get install iptables\n');
    assert.equal(r.out, '');
  });

  it('removes the stale chains and jumps, says what per family in one line, and leaves the user\'s rules alone', async () => {
    const fake = fakeIptables({ iptables: ok(STALE_V4), ip6tables: ok(EMPTY) });
    const r = await cleanup({ isRoot: true, run: fake.run });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'sluice: removed 2 chains and 3 jumps (iptables), nothing (ip6tables)\n');
    assert.equal(r.err, '');
    assert.equal(fake.restores.length, 1, 'ip6tables had nothing: no restore for it');
    const script = fake.restores[0];
    assert.match(script, /^iptables-restore\n\*mangle\n/);
    assert.match(script, /-D POSTROUTING -o eth0 -m comment --comment sluice -j SLUICE-EGRESS\n/);
    assert.match(script, /-X SLUICE-EGRESS\n-X SLUICE-INGRESS\nCOMMIT\n/);
    assert.doesNotMatch(script, /MARK/);
  });

  it('with nothing installed says so, and a family the kernel cannot manage is named, not a failure', async () => {
    const noV6: CommandResult = { exitCode: 3, stdout: '', stderr: 'ip6tables v1.8.9 (nf_tables): Could not fetch rule set generation id: Address family not supported by protocol\n', spawnError: null };
    const fake = fakeIptables({ iptables: ok(EMPTY), ip6tables: noV6 });
    const r = await cleanup({ isRoot: true, run: fake.run });
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, 'sluice: nothing to remove: no sluice chains or jumps in the mangle table (iptables); ip6tables cannot run: this kernel has IPv6 (or this family) disabled\n');
    assert.deepEqual(fake.restores, []);
  });
});

/** A queue number of this test's own (queues are per namespace; this only keeps logs unambiguous). */
const QUEUE = queueNumber();

describe('sluice cleanup in the lab (root)', () => {
  let lab: Lab | null = null;
  let dir: TempDir | null = null;
  let config = '';
  let dev = '';
  const sluices: SluiceProcess[] = [];

  before(async () => {
    assert.equal(process.getuid?.(), 0, NEED_ROOT);
    dir = TempDir.create('cleanup');
    lab = await Lab.pair({ name: 'cleanup' });
    dev = lab.end('server', 'client').dev;
    config = dir.write('sluice.yaml', configYaml({ queue: QUEUE, links: [{ interface: dev, egressBps: 10_000_000, ingressBps: 10_000_000 }] }));
    // The user's own mangle rule, which no cleanup may touch.
    await lab.exec('server', ['iptables', '-w', '-t', 'mangle', '-A', 'POSTROUTING', '-o', dev, '-j', 'MARK', '--set-mark', '5']);
  });

  after(async () => {
    for (const s of sluices) await s.stop('SIGKILL').catch(() => undefined);
    if (lab !== null) await lab.destroy();
    dir?.remove();
  });

  async function startSluice(): Promise<SluiceProcess> {
    assert.ok(lab);
    const sluice = await SluiceProcess.start(lab, 'server', config);
    sluices.push(sluice);
    return sluice;
  }

  const sluiceCleanup = (...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> => {
    assert.ok(lab);
    return lab.exec('server', sluiceArgv(['cleanup', ...args]), { timeoutMs: 30_000, check: false });
  };

  async function mangle(tool: 'iptables' | 'ip6tables'): Promise<string> {
    assert.ok(lab);
    return (await lab.exec('server', [tool, '-w', '-t', 'mangle', '-S'], { timeoutMs: 10_000 })).stdout;
  }

  async function assertNoSluice(when: string): Promise<void> {
    for (const tool of ['iptables', 'ip6tables'] as const) {
      const listing = await mangle(tool);
      assert.doesNotMatch(listing, /SLUICE|comment sluice/, `${tool} mangle ${when}:\n${listing}`);
    }
    assert.match(await mangle('iptables'), new RegExp(`-A POSTROUTING -o ${dev} -j MARK --set-xmark 0x5/0xffffffff`), `the user's rule survives ${when}`);
  }

  it('refuses in one line naming the holder\'s pid while a running sluice holds the queue, then removes what SIGKILL left behind', { timeout: 90_000 }, async (t) => {
    const sluice = await startSluice();

    const refused = await sluiceCleanup();
    t.diagnostic(`while running: ${refused.stderr.trim()}`);
    assert.equal(refused.exitCode, 2, `${refused.stdout}${refused.stderr}`);
    assert.match(refused.stderr, new RegExp(`^sluice: not removing the rules of a running sluice: queue ${QUEUE} is held by process ${sluice.child.pid} \\([^)\\n]+\\) — [^\\n]*sluice cleanup --force\\n$`));
    assert.equal(refused.stdout, '');
    for (const tool of ['iptables', 'ip6tables'] as const) assert.match(await mangle(tool), /-N SLUICE-EGRESS/, `${tool}: the running sluice's rules stay`);

    assert.equal(await sluice.stop('SIGKILL', 10_000), null);
    assert.equal(sluice.child.signalCode, 'SIGKILL');
    for (const tool of ['iptables', 'ip6tables'] as const) {
      const stale = await mangle(tool);
      assert.match(stale, /-N SLUICE-EGRESS\n-N SLUICE-INGRESS\n/, `${tool}: SIGKILL leaves the chains stale:\n${stale}`);
    }

    const removed = await sluiceCleanup();
    t.diagnostic(`after SIGKILL: ${removed.stdout.trim()}`);
    assert.equal(removed.exitCode, 0, `${removed.stdout}${removed.stderr}`);
    assert.equal(removed.stdout, 'sluice: removed 2 chains and 3 jumps (iptables), 2 chains and 3 jumps (ip6tables)\n');
    assert.equal(removed.stderr, '');
    await assertNoSluice('after cleanup');
  });

  it('a second cleanup finds nothing to remove', { timeout: 60_000 }, async () => {
    const again = await sluiceCleanup();
    assert.equal(again.exitCode, 0, `${again.stdout}${again.stderr}`);
    assert.equal(again.stdout, 'sluice: nothing to remove: no sluice chains or jumps in the mangle table (iptables, ip6tables)\n');
    assert.equal(again.stderr, '');
  });

  it('--force removes the rules of a running sluice with a warning, and that sluice still stops cleanly', { timeout: 90_000 }, async (t) => {
    const sluice = await startSluice();
    const forced = await sluiceCleanup('--force');
    t.diagnostic(`--force: ${forced.stderr.trim()} | ${forced.stdout.trim()}`);
    assert.equal(forced.exitCode, 0, `${forced.stdout}${forced.stderr}`);
    assert.match(forced.stderr, new RegExp(`^warning: queue ${QUEUE} is held by process ${sluice.child.pid} \\([^)\\n]+\\): removing its rules anyway \\(--force\\)[^\\n]*\\n$`));
    assert.equal(forced.stdout, 'sluice: removed 2 chains and 3 jumps (iptables), 2 chains and 3 jumps (ip6tables)\n');
    await assertNoSluice('after cleanup --force');

    assert.equal(await sluice.stop('SIGTERM', 15_000), 0, sluice.output);
    assert.doesNotMatch(sluice.output, /\n\s+at /, 'no stack trace');
    await assertNoSluice('after the forced-out sluice stopped');
  });
});
