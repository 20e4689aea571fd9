/**
 * The lab against the real kernel: a pair of hosts pings across its veth (IPv4 and IPv6) with the
 * offloads off, a line of three forwards client → server through the router (and stops when the
 * router's forwarding is off), destroy removes namespaces and processes, is idempotent and runs from
 * finally blocks and from the SIGTERM hook, and cleanupStale removes what a SIGKILLed run left.
 *
 * Needs root (CI runs as root); without it every test here fails with one message saying so. All
 * traffic stays between the lab's own namespaces.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Lab } from '../../src/lab/topology.js';
import { LabCommandError, run } from '../../src/lab/exec.js';
import { listNetns, offloadState } from '../../src/lab/netns.js';

const NEED_ROOT = 'these tests need root: run them as root, as CI does';
const CHILD = fileURLToPath(new URL('./crash.child.ts', import.meta.url));

/** `count` echo requests 0.2 s apart, the whole run at most `count` seconds. */
function ping(lab: Lab, from: string, to: string, count = 2): Promise<{ stdout: string; exitCode: number }> {
  const family = to.includes(':') ? '-6' : '-4';
  return lab.exec(from, ['ping', family, '-n', '-c', String(count), '-i', '0.2', '-w', String(count), to], { check: false, timeoutMs: 5000 });
}

function received(stdout: string): number {
  const m = /(\d+) received/.exec(stdout);
  return m ? Number(m[1]) : -1;
}

/** True when the pid no longer runs (gone, or a zombie nobody has reaped yet). */
function dead(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    return readFileSync(stat, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

async function waitDead(pid: number, ms = 2000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!dead(pid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

async function assertGone(names: readonly string[]): Promise<void> {
  const present = await listNetns();
  assert.ok(names.length > 0);
  for (const ns of names) assert.ok(!present.includes(ns), `namespace ${ns} is still there`);
}

/** Starts the crash child, returns it with the line it printed once its lab is up. */
async function startCrashChild(): Promise<{ child: ReturnType<typeof spawn>; info: { namespaces: string[]; sleepPid: number } }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`crash child printed nothing in 10 s: ${err}`)), 10_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0]);
      }
    });
    child.once('exit', (code) => reject(new Error(`crash child exited with ${code}: ${err}`)));
  });
  return { child, info: JSON.parse(line) };
}

function exited(child: ReturnType<typeof spawn>): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('lab', () => {
  before(() => {
    assert.equal(process.getuid?.(), 0, NEED_ROOT);
  });

  describe('two hosts on one veth pair', () => {
    let lab: Lab;
    before(async () => {
      lab = await Lab.pair();
    });
    after(async () => {
      await lab?.destroy();
    });

    it('pings across over IPv4 and IPv6', async () => {
      const v4 = await ping(lab, 'client', lab.address('server', 4));
      assert.equal(received(v4.stdout), 2, v4.stdout);
      const v6 = await ping(lab, 'server', lab.address('client', 6));
      assert.equal(received(v6.stdout), 2, v6.stdout);
      assert.match(v6.stdout, /from fd00:200:1::1: .*ttl=64/);
    });

    it('has TSO, GSO, GRO and UDP segmentation off on both veth ends', async () => {
      for (const e of [lab.links[0].a, lab.links[0].b]) {
        const state = await offloadState(e.netns, e.dev);
        for (const f of ['tcp-segmentation-offload', 'generic-segmentation-offload', 'generic-receive-offload', 'tx-udp-segmentation']) {
          assert.equal(state.get(f), false, `${f} on ${e.netns} ${e.dev}`);
        }
      }
    });

    it('leaves no lab interface in the host namespace', async () => {
      const links = (await run(['ip', '-o', 'link', 'show'])).stdout;
      assert.ok(!links.includes(lab.id), links);
    });

    it('a failing command in a host is one line naming the command and its stderr', async () => {
      const err = await lab.exec('client', ['ip', 'link', 'show', 'dev', 'nothere0']).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof LabCommandError);
      assert.equal(err.message, `ip netns exec ${lab.netns('client')} ip link show dev nothere0 failed (exit 1): Device "nothere0" does not exist.`);
    });

    it('names hosts, ends and addresses, and refuses hosts it does not have', () => {
      assert.deepEqual(lab.hosts, ['client', 'server']);
      assert.equal(lab.netns('server'), `${lab.id}-server`);
      assert.deepEqual(lab.end('server', 'client'), lab.links[0].b);
      assert.equal(lab.address('client', 6), 'fd00:200:1::1');
      assert.throws(() => lab.netns('router'), /has no host "router" \(hosts: client, server\)/);
      assert.throws(() => lab.end('client', 'nobody'), /has no link to "nobody"/);
    });
  });

  it('a line of three forwards client → server through the router, and not without its forwarding', async () => {
    const lab = await Lab.line();
    const names = [...lab.namespaces];
    assert.equal(names.length, 3);
    try {
      const to4 = lab.address('server', 4);
      const to6 = lab.address('server', 6);
      assert.notEqual(to4.split('.').slice(0, 3).join('.'), lab.address('client', 4).split('.').slice(0, 3).join('.'));
      const v4 = await ping(lab, 'client', to4);
      assert.equal(received(v4.stdout), 2, v4.stdout);
      assert.match(v4.stdout, /ttl=63/, 'one hop through the router');
      const v6 = await ping(lab, 'client', to6);
      assert.equal(received(v6.stdout), 2, v6.stdout);
      assert.match(v6.stdout, /ttl=63/);
      await lab.exec('router', ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=0']);
      const blocked = await ping(lab, 'client', to4, 1);
      assert.equal(received(blocked.stdout), 0, blocked.stdout);
    } finally {
      await lab.destroy();
    }
    await assertGone(names);
  });

  it('destroy removes namespaces and spawned processes, is idempotent, and ends the lab', async () => {
    const lab = await Lab.pair();
    const names = [...lab.namespaces];
    assert.equal(names.length, 2);
    const sleeper = lab.spawn('server', ['sleep', '30']);
    const lingering = lab.spawn('client', ['sleep', '30'], { stdio: 'ignore' });
    await new Promise((r) => sleeper.once('spawn', r));
    const gone = exited(sleeper);
    await Promise.all([lab.destroy(), lab.destroy()]);
    await lab.destroy();
    assert.equal(lab.destroyed, true);
    assert.deepEqual(lab.namespaces, []);
    await assertGone(names);
    assert.equal((await gone).signal, 'SIGTERM');
    assert.ok(await waitDead(lingering.pid!), 'the second spawned process still runs');
    assert.throws(() => lab.spawn('client', ['true']), /is destroyed/);
    await assert.rejects(lab.exec('client', ['true']), /is destroyed/);
  });

  it('a test body that throws still destroys its lab in finally', async () => {
    let names: string[] = [];
    await assert.rejects(async () => {
      const lab = await Lab.pair();
      names = [...lab.namespaces];
      try {
        await ping(lab, 'client', lab.address('server', 4), 1);
        throw new Error('body failed');
      } finally {
        await lab.destroy();
      }
    }, /body failed/);
    await assertGone(names);
  });

  it('a build that fails halfway removes what it made and reports the failing command', async () => {
    const mark = `sl-broken-${process.pid.toString(36)}-`;
    const spec = { name: 'broken', hosts: [{ name: 'a' }, { name: 'b' }], links: [{ a: 'a', b: 'b', devA: 'lo' }] };
    await assert.rejects(Lab.create(spec), (e: unknown) => {
      assert.ok(e instanceof LabCommandError);
      assert.match(e.message, /^ip -n sl-broken-\S+-a link add lo type veth peer name eth0 netns sl-broken-\S+-b failed \(exit 2\): .*File exists/);
      return true;
    });
    assert.deepEqual((await listNetns()).filter((ns) => ns.startsWith(mark)), []);
  });

  it('the SIGTERM hook removes the lab of a process being terminated, which still dies of SIGTERM', async () => {
    const { child, info } = await startCrashChild();
    assert.deepEqual((await listNetns()).filter((ns) => info.namespaces.includes(ns)).sort(), [...info.namespaces].sort());
    child.kill('SIGTERM');
    assert.deepEqual(await exited(child), { code: null, signal: 'SIGTERM' });
    await assertGone(info.namespaces);
    assert.ok(await waitDead(info.sleepPid), 'the sleep inside the lab still runs');
  });

  it('cleanupStale removes what a SIGKILLed run left, and not the lab of a live one', async () => {
    const { child, info } = await startCrashChild();
    child.kill('SIGKILL');
    await exited(child);
    const leaked = await listNetns();
    for (const ns of info.namespaces) assert.ok(leaked.includes(ns), `${ns} should outlive a SIGKILL`);
    assert.ok(!dead(info.sleepPid), 'the sleep inside the leaked lab should still run');
    const mine = await Lab.pair();
    try {
      const removed = await Lab.cleanupStale();
      // The leaked namespaces are gone; another test process's cleanupStale running at the same time may
      // have been the one to remove them, so `removed` is not required to list them.
      await assertGone(info.namespaces);
      for (const ns of removed) assert.ok(ns.startsWith('sl-'), ns);
      for (const ns of mine.namespaces) assert.ok(!removed.includes(ns), `removed the live lab's ${ns}`);
      assert.deepEqual((await listNetns()).filter((ns) => mine.namespaces.includes(ns)).sort(), [...mine.namespaces].sort());
      assert.ok(await waitDead(info.sleepPid), 'the sleep inside the leaked lab still runs');
      const v4 = await ping(mine, 'client', mine.address('server', 4), 1);
      assert.equal(received(v4.stdout), 1, v4.stdout);
    } finally {
      await mine.destroy();
    }
  });
});
