/**
 * The control API over a real Unix socket: the daemon's side (ControlServer) and the CLI's
 * (callDaemon), with the daemon played by a plain object. Replies, errors as one line, a socket
 * only root may use, a stale socket replaced, a live one refused.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { callDaemon, ControlCallError } from '../../src/control/api/client.js';
import type { ExplainFlowReply, ReloadReply, StatusReply } from '../../src/control/api/protocol.js';
import { ControlServer, ControlSocketError, type DaemonControl } from '../../src/control/api/server.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-api-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const socketIn = (): string => join(dir, `s${++n}`, 'sluice.sock');

function fakeDaemon(reload: ReloadReply = { reloaded: true }): DaemonControl & { stops: number } {
  return {
    stops: 0,
    status: (): StatusReply => ({ version: '9.9.9', pid: 42, configFile: '/etc/sluice/sluice.yaml', startedAtMs: 1000, shaping: true, snapshot: null, schedule: [] }),
    reload: async () => reload,
    flows: async () => ({ flows: [] }),
    // Flow 7 lives; every other id is unknown.
    explainFlow: async (id) => (id === 7 ? ({ directions: [], facts: { cc: 'SK' } } as unknown as ExplainFlowReply) : null),
    setLink: async (link, direction, rateBps) => (link === 'wan' ? { reloaded: true } : { reloaded: false, lines: [`no link named ${link} ${direction} ${rateBps}`] }),
    stop() {
      this.stops++;
    },
  };
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ControlCallError, String(err));
    return err.message;
  }
  assert.fail('the call succeeded');
}

test('status, reload and stop are one call each; stop is called after the reply went out', async () => {
  const daemon = fakeDaemon();
  const path = socketIn();
  const server = await ControlServer.listen(path, daemon);
  try {
    assert.equal(statSync(path).mode & 0o777, 0o600, 'only root (the daemon\'s user) may call it');
    const status = await callDaemon<StatusReply>(path, 'GET', '/v1/status');
    assert.deepEqual([status.version, status.pid, status.configFile, status.snapshot], ['9.9.9', 42, '/etc/sluice/sluice.yaml', null]);
    assert.deepEqual(await callDaemon(path, 'POST', '/v1/reload'), { reloaded: true });
    assert.deepEqual(await callDaemon(path, 'GET', '/v1/flows'), { flows: [] });
    assert.deepEqual(await callDaemon(path, 'POST', '/v1/link?link=wan&direction=egress&rateBps=15000000'), { reloaded: true });
    assert.deepEqual(await callDaemon(path, 'POST', '/v1/link?link=lte&direction=ingress&rateBps=5'), { reloaded: false, lines: ['no link named lte ingress 5'] });
    assert.match(await failure(callDaemon(path, 'POST', '/v1/link?link=wan&direction=up&rateBps=1')), /set link needs link=NAME, direction=egress\|ingress and a finite rateBps > 0/);
    assert.match(await failure(callDaemon(path, 'POST', '/v1/link?link=wan&direction=egress&rateBps=1e309')), /a finite rateBps > 0/);
    assert.deepEqual(await callDaemon(path, 'POST', '/v1/stop'), { stopping: true });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(daemon.stops, 1);
    assert.match(await failure(callDaemon(path, 'GET', '/v1/nothing')), /^sluice: no such call: GET \/v1\/nothing$/);
  } finally {
    await server.close();
  }
  assert.equal(existsSync(path), false, 'the socket file goes with the server');
});

test('explain a live flow: GET /v1/flows/ID/explain; an unknown id is a 404 with one line naming `sluice flows`', async () => {
  const path = socketIn();
  const server = await ControlServer.listen(path, fakeDaemon());
  try {
    assert.deepEqual(await callDaemon(path, 'GET', '/v1/flows/7/explain'), { directions: [], facts: { cc: 'SK' } });
    const unknown = await callDaemon(path, 'GET', '/v1/flows/123/explain').catch((e: unknown) => e);
    assert.ok(unknown instanceof ControlCallError);
    assert.equal(unknown.status, 404, 'the CLI tells an unknown flow (exit 1) from no daemon (exit 2) by it');
    assert.equal(unknown.message, 'sluice: no live flow 123 — `sluice flows` lists them');
    assert.match(await failure(callDaemon(path, 'GET', '/v1/flows/x7/explain')), /^sluice: no such call: GET \/v1\/flows\/x7\/explain$/);
    assert.match(await failure(callDaemon(path, 'POST', '/v1/flows/7/explain')), /no such call/);
  } finally {
    await server.close();
  }
  const gone = await callDaemon(path, 'GET', '/v1/flows/7/explain').catch((e: unknown) => e);
  assert.ok(gone instanceof ControlCallError && gone.status === null, 'no daemon: no status');
});

test('a refused reload carries its lines', async () => {
  const path = socketIn();
  const server = await ControlServer.listen(path, fakeDaemon({ reloaded: false, lines: ['f.yaml:3:9: classes.x.ceil: bad'] }));
  try {
    assert.deepEqual(await callDaemon(path, 'POST', '/v1/reload'), { reloaded: false, lines: ['f.yaml:3:9: classes.x.ceil: bad'] });
  } finally {
    await server.close();
  }
});

test('no daemon: one line saying so, for a missing socket and for a dead one', async () => {
  const path = socketIn();
  assert.match(await failure(callDaemon(path, 'GET', '/v1/status')), /^sluice is not running: no control socket at .*sluice\.sock \(start it with `sluice run`, or pass --socket\)$/);
  const server = await ControlServer.listen(path, fakeDaemon());
  await server.close();
  writeFileSync(path, '');
  assert.match(await failure(callDaemon(path, 'GET', '/v1/status')), /^sluice is not running/);
});

test('a socket file nobody answers on (a crash) is replaced; one a live daemon answers on is refused', async () => {
  const path = socketIn();
  const first = await ControlServer.listen(path, fakeDaemon());
  try {
    await assert.rejects(ControlServer.listen(path, fakeDaemon()), (e: unknown) => e instanceof ControlSocketError && /another sluice is running/.test(e.message));
    assert.equal((await callDaemon<StatusReply>(path, 'GET', '/v1/status')).pid, 42, 'the first still answers');
  } finally {
    await first.close();
  }
  writeFileSync(path, 'left by a crash');
  const second = await ControlServer.listen(path, fakeDaemon());
  try {
    assert.equal((await callDaemon<StatusReply>(path, 'GET', '/v1/status')).pid, 42);
  } finally {
    await second.close();
  }
});

test('close() returns at once although a client is stuck halfway through a request', async () => {
  const path = socketIn();
  const server = await ControlServer.listen(path, fakeDaemon());
  const stuck = createConnection(path);
  await new Promise<void>((resolve) => stuck.once('connect', () => resolve()));
  stuck.write('GET /v1/status HTTP/1.1\r\nHost: sluice\r\n'); // the headers never end
  stuck.on('error', () => undefined);
  await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await server.close();
  const ms = performance.now() - t0;
  stuck.destroy();
  assert.ok(ms < 1000, `close() took ${ms} ms`);
  assert.equal(existsSync(path), false, 'the socket file is gone');
});
