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
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanupCommand, NEED_ROOT_TO_CLEANUP, type CleanupOptions } from '../../src/cli/cleanup.js';
import type { CommandResult } from '../../src/datapath/firewall/errors.js';
import type { CommandRunner } from '../../src/datapath/firewall/run.js';
import { Lab, NEED_ROOT } from '../../src/lab/index.js';

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

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
/** From source (dist may be stale): the same runCli bin/sluice.js calls. */
const ENTRY = `import(${JSON.stringify(MAIN)}).then(async (m) => { process.exitCode = await m.runCli(process.argv.slice(1)); })`;
const SLUICE = [process.execPath, '--import', 'tsx', '-e', ENTRY];
/** A queue number of this test's own (queues are per namespace; this only keeps logs unambiguous). */
const QUEUE = 1000 + (process.pid % 20_000);

function output(child: ChildProcess): { text: () => string; waitFor: (re: RegExp, ms: number) => Promise<void> } {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    text: () => out,
    waitFor: (re, ms) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + ms;
        const poll = (): void => {
          if (re.test(out)) return resolve();
          if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`sluice run exited (${child.exitCode ?? child.signalCode}) before ${re}: ${out}`));
          if (Date.now() > deadline) return reject(new Error(`no ${re} within ${ms} ms: ${out}`));
          setTimeout(poll, 20);
        };
        poll();
      }),
  };
}

function exited(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms`)), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

describe('sluice cleanup in the lab (root)', () => {
  let lab: Lab | null = null;
  let dir = '';
  let config = '';
  let dev = '';
  const children: ChildProcess[] = [];

  before(async () => {
    assert.equal(process.getuid?.(), 0, NEED_ROOT);
    dir = mkdtempSync(join(tmpdir(), 'sluice-cleanup-'));
    lab = await Lab.pair({ name: 'cleanup' });
    dev = lab.end('server', 'client').dev;
    config = join(dir, 'sluice.yaml');
    writeFileSync(config, `datapath:\n  queues: ${QUEUE}\nlinks:\n  - interface: ${dev}\n    egress: 10mbit\n    ingress: 10mbit\nclasses:\n  default:\n    rate: 100%\n`);
    // The user's own mangle rule, which no cleanup may touch.
    await lab.exec('server', ['iptables', '-w', '-t', 'mangle', '-A', 'POSTROUTING', '-o', dev, '-j', 'MARK', '--set-mark', '5']);
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (lab !== null) await lab.destroy();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  async function startSluice(): Promise<{ child: ChildProcess; log: ReturnType<typeof output> }> {
    assert.ok(lab);
    const child = lab.spawn('server', [...SLUICE, 'run', '-c', config]);
    children.push(child);
    const log = output(child);
    await log.waitFor(/sluice: shaping .*\n/, 20_000);
    return { child, log };
  }

  const sluiceCleanup = (...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> => {
    assert.ok(lab);
    return lab.exec('server', [...SLUICE, 'cleanup', ...args], { timeoutMs: 30_000, check: false });
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
    const { child } = await startSluice();

    const refused = await sluiceCleanup();
    t.diagnostic(`while running: ${refused.stderr.trim()}`);
    assert.equal(refused.exitCode, 2, `${refused.stdout}${refused.stderr}`);
    assert.match(refused.stderr, new RegExp(`^sluice: not removing the rules of a running sluice: queue ${QUEUE} is held by process ${child.pid} \\([^)\\n]+\\) — [^\\n]*sluice cleanup --force\\n$`));
    assert.equal(refused.stdout, '');
    for (const tool of ['iptables', 'ip6tables'] as const) assert.match(await mangle(tool), /-N SLUICE-EGRESS/, `${tool}: the running sluice's rules stay`);

    child.kill('SIGKILL');
    assert.equal((await exited(child, 10_000)).signal, 'SIGKILL');
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
    const { child, log } = await startSluice();
    const forced = await sluiceCleanup('--force');
    t.diagnostic(`--force: ${forced.stderr.trim()} | ${forced.stdout.trim()}`);
    assert.equal(forced.exitCode, 0, `${forced.stdout}${forced.stderr}`);
    assert.match(forced.stderr, new RegExp(`^warning: queue ${QUEUE} is held by process ${child.pid} \\([^)\\n]+\\): removing its rules anyway \\(--force\\)[^\\n]*\\n$`));
    assert.equal(forced.stdout, 'sluice: removed 2 chains and 3 jumps (iptables), 2 chains and 3 jumps (ip6tables)\n');
    await assertNoSluice('after cleanup --force');

    child.kill('SIGTERM');
    assert.equal((await exited(child, 15_000)).code, 0, log.text());
    assert.doesNotMatch(log.text(), /\n\s+at /, 'no stack trace');
    await assertNoSluice('after the forced-out sluice stopped');
  });
});
