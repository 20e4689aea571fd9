/**
 * The C pass-through baseline (bench/baseline/) cannot rot unnoticed: it builds (failing with the line
 * that says what to install when libnetfilter-queue-dev or cc is missing), it is rebuilt only when its
 * source is newer, and in the lab (root) it binds a queue and passes every queued packet in both modes,
 * reporting its counters as one JSON line after SIGTERM or its time limit.
 *
 * The lab test queues UDP arriving at the server (mangle PREROUTING, no --queue-bypass, so a packet
 * passes only when the program accepts it) and counts what reaches the server's INPUT chain.
 */
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildBaseline, parseCReport } from '../../bench/baseline/build.js';
import { Lab, NEED_ROOT } from '../../src/lab/index.js';

const PORT = 5322;
const PACKETS = 300;

/** Sends N small datagrams to host:port, 30 per millisecond, then exits. */
const SENDER = `
const dgram = require('node:dgram');
const [host, port, count] = process.argv.slice(1);
const sock = dgram.createSocket('udp4');
const payload = Buffer.alloc(100, 7);
let sent = 0;
const tick = () => {
  for (let i = 0; i < 30 && sent < Number(count); i++, sent++) sock.send(payload, Number(port), host);
  if (sent < Number(count)) setTimeout(tick, 1); else setTimeout(() => sock.close(), 50);
};
tick();
`;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sluice-baseline-test-'));
  dirs.push(d);
  return d;
}

/** A stand-in compiler that fails the way cc does when libnetfilter_queue's headers are missing. */
function fakeCcWithoutHeaders(dir: string): string {
  const path = join(dir, 'fake-cc');
  writeFileSync(path, '#!/bin/sh\necho "nfq-passthrough.c:31:10: fatal error: libnetfilter_queue/libnetfilter_queue.h: No such file or directory" >&2\nexit 1\n');
  chmodSync(path, 0o755);
  return path;
}

describe('buildBaseline', () => {
  it('builds the C pass-through (CI installs libnetfilter-queue-dev)', async () => {
    const b = await buildBaseline();
    assert.ok(b.ok, b.ok ? '' : `the C baseline must build: ${b.reason}`);
    const usage = spawnSync(b.path, [], { encoding: 'utf8' });
    assert.equal(usage.status, 2);
    assert.equal(usage.stderr, 'nfq-passthrough: --queue N is required\n', 'a usage error is one line');
  });

  it('says what to install when the headers or the compiler are missing', async () => {
    const dir = tempDir();
    const noHeaders = await buildBaseline({ cc: fakeCcWithoutHeaders(dir), cacheDir: dir });
    assert.deepEqual(noHeaders, {
      ok: false,
      reason: 'the C baseline needs libnetfilter_queue\'s headers and library: install libnetfilter-queue-dev (apt-get install -y libnetfilter-queue-dev)',
    });
    const noCc = await buildBaseline({ cc: join(dir, 'no-such-cc'), cacheDir: dir });
    assert.equal(noCc.ok, false);
    assert.match(noCc.ok ? '' : noCc.reason, /needs a C compiler, and .*no-such-cc was not found: install gcc/);
  });

  it('rebuilds only when the source is newer than the binary', async () => {
    const dir = tempDir();
    const first = await buildBaseline({ cc: 'cc', cacheDir: dir });
    assert.ok(first.ok, first.ok ? '' : first.reason);
    // Older than the source: another build (a different compiler spelling, so not the memoized one) recompiles.
    utimesSync(first.path, new Date(0), new Date(0));
    const second = await buildBaseline({ cc: '/usr/bin/cc', cacheDir: dir });
    assert.ok(second.ok && second.path === first.path);
    assert.ok(statSync(second.path).mtimeMs > 1e12, 'recompiled: a fresh modification time');
    // Newer than the source: used as it is, so even a compiler that would fail is never run.
    const future = new Date(Date.now() + 3_600_000);
    utimesSync(first.path, future, future);
    const third = await buildBaseline({ cc: fakeCcWithoutHeaders(dir), cacheDir: dir });
    assert.deepEqual(third, { ok: true, path: first.path });
  });
});

function output(child: ChildProcess): { text: () => string; exited: Promise<number | null> } {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { text: () => out, exited };
}

async function waitFor(re: RegExp, text: () => string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!re.test(text())) {
    if (Date.now() > deadline) throw new Error(`no ${re} within ${ms} ms: ${text()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('passes every queued packet in per-packet and batch mode, and stops at SIGTERM or its time limit', { timeout: 60_000 }, async () => {
  assert.equal(process.getuid?.(), 0, NEED_ROOT);
  const b = await buildBaseline();
  assert.ok(b.ok, b.ok ? '' : `the C baseline must build: ${b.reason}`);
  const queueNum = 4000 + (process.pid % 20000);
  const lab = await Lab.pair({ name: 'cbase' });
  try {
    const dev = lab.end('server').dev;
    await lab.exec('server', ['iptables', '-t', 'mangle', '-A', 'PREROUTING', '-i', dev, '-p', 'udp', '--dport', String(PORT), '-j', 'NFQUEUE', '--queue-num', String(queueNum)]);
    await lab.exec('server', ['iptables', '-A', 'INPUT', '-p', 'udp', '--dport', String(PORT), '-j', 'DROP']);
    const passed = async (): Promise<number> => {
      const r = await lab.exec('server', ['iptables', '-L', 'INPUT', '-v', '-x', '-n']);
      const line = r.stdout.split('\n').find((l) => l.includes(`dpt:${PORT}`));
      assert.ok(line, r.stdout);
      return Number(line.trim().split(/\s+/)[0]);
    };

    for (const mode of ['per-packet', 'batch']) {
      await lab.exec('server', ['iptables', '-Z', 'INPUT']);
      const prog = lab.spawn('server', [b.path, '--queue', String(queueNum), '--mode', mode]);
      const out = output(prog);
      await waitFor(/^ready$/m, out.text, 10_000);
      const sender = lab.spawn('client', [process.execPath, '-e', SENDER, lab.address('server', 4), String(PORT), String(PACKETS)]);
      const sent = output(sender);
      assert.equal(await sent.exited, 0, sent.text());
      const deadline = Date.now() + 3000;
      while ((await passed()) < PACKETS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      prog.kill('SIGTERM');
      assert.equal(await out.exited, 0, out.text());
      assert.equal(await passed(), PACKETS, `${mode}: every packet accepted`);
      const c = parseCReport(out.text());
      assert.equal(c.mode, mode);
      assert.equal(c.queue, queueNum);
      assert.equal(c.packets, PACKETS);
      assert.equal(c.recvErrors, 0);
      assert.ok(c.cpuSeconds >= 0 && c.cpuSeconds <= c.seconds * 2 + 0.05, `cpu ${c.cpuSeconds} s over ${c.seconds} s`);
      assert.equal(c.verdictErrors, 0);
      assert.ok(c.recvCalls >= PACKETS, `${c.recvCalls} recv calls for ${PACKETS} packets`);
      if (mode === 'per-packet') assert.equal(c.verdicts, PACKETS, 'one verdict per packet');
      else assert.ok(c.verdicts >= 1 && c.verdicts <= PACKETS, `${c.verdicts} batch verdicts`);
    }

    const t0 = Date.now();
    const timed = await lab.exec('server', [b.path, '--queue', String(queueNum), '--seconds', '1'], { timeoutMs: 5000 });
    const tookMs = Date.now() - t0;
    assert.ok(tookMs >= 900 && tookMs < 4000, `--seconds 1 ran ${tookMs} ms`);
    assert.equal(parseCReport(timed.stdout).packets, 0);
  } finally {
    await lab.destroy();
  }
});
