/**
 * `sluice run` end to end, in the lab (root; without root the test fails saying so): client —
 * router — server, sluice running inside the router namespace with an egress rate of 5 Mbit/s on the
 * router's server-side interface (with -v: summaries per class from the worker's counters). The client sends paced UDP at 20 Mbit/s for 4 s; the server counts
 * what arrives. The received rate over the last 3 s must be 5 Mbit/s within ±5% on the wire (the
 * shaper counts IP bytes: 28 bytes of IPv4 and UDP headers per 1200-byte datagram). After SIGTERM
 * sluice exits 0, the router's mangle table holds no SLUICE chains, and a second burst passes unshaped.
 * A second `sluice run` on the same queue meanwhile is refused in one line with exit 2.
 *
 * Traffic stays inside the lab's namespaces; every process and the lab are removed in `finally`.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { Lab, NEED_ROOT, SluiceProcess, sluiceArgv } from '../../src/lab/index.js';

const PORT = 5201;
const PAYLOAD_BYTES = 1200;
const IP_UDP_HEADER_BYTES = 28;
const SHAPED_BPS = 5_000_000;
const OFFERED_BPS = 20_000_000;

/** Counts UDP payload bytes per 100 ms bin from the first datagram; prints JSON at the deadline. */
const RECEIVER = `
import dgram from 'node:dgram';
const [port, lifeMs] = process.argv.slice(2).map(Number);
const bins = [];
let t0 = -1;
const sock = dgram.createSocket('udp4');
sock.on('message', (msg) => {
  const now = performance.now();
  if (t0 < 0) t0 = now;
  const bin = Math.floor((now - t0) / 100);
  while (bins.length <= bin) bins.push(0);
  bins[bin] += msg.length;
});
sock.bind(port, () => console.log('ready'));
setTimeout(() => { console.log(JSON.stringify({ bins })); sock.close(); }, lifeMs);
`;

/** Sends datagrams of a given size at a given rate for a given time, paced in 1 ms steps. */
const SENDER = `
import dgram from 'node:dgram';
const [host, port, size, rateBps, durationMs] = process.argv.slice(2);
const sock = dgram.createSocket('udp4');
const payload = Buffer.alloc(Number(size), 7);
const perMs = Number(rateBps) / 8 / Number(size) / 1000;
const t0 = performance.now();
let sent = 0;
const tick = () => {
  const elapsed = performance.now() - t0;
  if (elapsed >= Number(durationMs)) { sock.close(); console.log(JSON.stringify({ sent })); return; }
  const due = Math.floor(elapsed * perMs);
  while (sent < due) { sock.send(payload, Number(port), host); sent++; }
  setTimeout(tick, 1);
};
tick();
`;

function lines(child: ChildProcess): { text: () => string; waitFor: (re: RegExp, ms: number) => Promise<string> } {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    text: () => out,
    waitFor: (re, ms) =>
      new Promise((resolve, reject) => {
        const deadline = Date.now() + ms;
        const poll = (): void => {
          const m = re.exec(out);
          if (m) return resolve(m[0]);
          if (child.exitCode !== null) return reject(new Error(`process exited (${child.exitCode}) before ${re}: ${out}`));
          if (Date.now() > deadline) return reject(new Error(`no ${re} within ${ms} ms: ${out}`));
          setTimeout(poll, 20);
        };
        poll();
      }),
  };
}

function exited(child: ChildProcess, ms: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`process did not exit within ${ms} ms`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Runs receiver and sender for one burst; returns the receiver's 100 ms bins of payload bytes. */
async function burst(lab: Lab, dir: string, rateBps: number, durationMs: number): Promise<number[]> {
  const receiver = lab.spawn('server', [process.execPath, join(dir, 'receiver.mjs'), String(PORT), String(durationMs + 2000)]);
  const rx = lines(receiver);
  await rx.waitFor(/ready/, 10_000);
  const sender = lab.spawn('client', [process.execPath, join(dir, 'sender.mjs'), lab.address('server', 4), String(PORT), String(PAYLOAD_BYTES), String(rateBps), String(durationMs)]);
  const tx = lines(sender);
  assert.equal(await exited(sender, durationMs + 10_000), 0, tx.text());
  assert.equal(await exited(receiver, 15_000), 0, rx.text());
  const m = /\{"bins".*\}/.exec(rx.text());
  assert.ok(m, `receiver printed no result: ${rx.text()}`);
  return (JSON.parse(m[0]) as { bins: number[] }).bins;
}

/** Wire (IP) bits per second over bins [from, to) of 100 ms. */
function ipRateBps(bins: number[], from: number, to: number): number {
  let payload = 0;
  for (let i = from; i < to; i++) payload += bins[i] ?? 0;
  const ipBytes = (payload * (PAYLOAD_BYTES + IP_UDP_HEADER_BYTES)) / PAYLOAD_BYTES;
  return (ipBytes * 8) / ((to - from) / 10);
}

it('sluice run shapes forwarded UDP to 5 Mbit/s egress and leaves no rules and no shaping after SIGTERM', { timeout: 90_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, NEED_ROOT);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-e2e-run-'));
  let lab: Lab | null = null;
  let sluice: SluiceProcess | null = null;
  try {
    lab = await Lab.line({ name: 'run' });
    const dev = lab.end('router', 'server').dev;
    writeFileSync(join(dir, 'receiver.mjs'), RECEIVER);
    writeFileSync(join(dir, 'sender.mjs'), SENDER);
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, `links:\n  - interface: ${dev}\n    egress: 5mbit\nclasses:\n  default:\n    rate: 100%\n`);

    sluice = await SluiceProcess.start(lab, 'router', config, ['-v']);
    const log = sluice;
    assert.match(log.output, new RegExp(`POSTROUTING -o ${dev} → SLUICE-EGRESS`));

    // A second sluice on the same queue is refused in one line (exit 2) and leaves the first's rules alone.
    const second = await lab.exec('router', sluiceArgv(['run', '-c', config]), { timeoutMs: 20_000, check: false });
    assert.equal(second.exitCode, 2, `${second.stdout}${second.stderr}`);
    assert.match(second.stderr, /^sluice: queue 0: (?!queue 0:)[^\n]*\n$/);
    t.diagnostic(`first: ${log.output.trim()} | second: ${second.stderr.trim()}`);

    const shaped = await burst(lab, dir, OFFERED_BPS, 4000);
    const rate = ipRateBps(shaped, 10, 40);
    t.diagnostic(`shaped: ${(rate / 1e6).toFixed(3)} Mbit/s on the wire over the last 3 s`);
    assert.ok(Math.abs(rate - SHAPED_BPS) <= SHAPED_BPS * 0.05, `shaped rate ${(rate / 1e6).toFixed(3)} Mbit/s, want 5 ± 0.25 (bins: ${shaped.join(',')})`);

    assert.equal(await sluice.stop('SIGTERM'), 0, log.output);
    assert.doesNotMatch(log.output, /\n\s+at /, 'no stack trace');
    // -v: the worker's counters reach the main thread and are printed per class.
    assert.match(log.output, new RegExp(`\\n {2}${dev} egress default +\\S+ +rate 5mbit ceil 5mbit +backlog \\d+ pkt +drops \\d+ +delay p50 `));
    for (const tool of ['iptables', 'ip6tables']) {
      const listing = await lab.exec('router', [tool, '-w', '-t', 'mangle', '-S'], { timeoutMs: 10_000 });
      assert.doesNotMatch(listing.stdout, /SLUICE/, `${tool} mangle after exit:\n${listing.stdout}`);
    }

    const unshaped = await burst(lab, dir, OFFERED_BPS, 1500);
    const free = ipRateBps(unshaped, 2, 12);
    t.diagnostic(`after SIGTERM: ${(free / 1e6).toFixed(3)} Mbit/s`);
    assert.ok(free > 3 * SHAPED_BPS, `unshaped rate ${(free / 1e6).toFixed(3)} Mbit/s, want well above 5 (bins: ${unshaped.join(',')})`);
  } finally {
    if (sluice !== null) await sluice.stop('SIGKILL').catch(() => undefined);
    if (lab !== null) await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
