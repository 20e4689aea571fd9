/**
 * NetlinkSocket against the real kernel: NFQNL config commands on NETLINK_NETFILTER sockets, their
 * ACKs taken through receiveBatch, what this kernel (6.18) answers when a queue is already bound,
 * several ACKs drained by one recvmmsg, sub-millisecond idle waits, and a wake from another thread.
 *
 * Needs root (CI runs as root); without it every test here fails with a message saying so. The queue
 * work runs in a child process inside a network namespace of its own (`unshare --net`): nfqueue
 * instances are per namespace, so queue 4242 can be neither taken already nor disturb this machine,
 * and the namespace disappears with the child, also when it crashes — nothing to clean up.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NetlinkSocket, NetlinkSocketError } from '../../../src/datapath/ffi/netlink-socket.js';
import { EBUSY, EPERM } from '../../../src/datapath/errno.js';

const CHILD = fileURLToPath(new URL('./queue-bind.child.ts', import.meta.url));
const NEED_ROOT = 'these tests need root (netfilter netlink queues and a network namespace): run them as root, as CI does';

interface Ack { type: number; seq: number; pid: number; errno: number }
interface Command { sent: number; readable: boolean; count: number; acks: Ack[] }

/** Runs the child under `prefix` (unshare, setpriv) and parses the JSON line it prints. */
function runChild(prefix: string[], arg?: string): Record<string, any> {
  const argv = [...prefix, process.execPath, '--import', 'tsx', CHILD, ...(arg ? [arg] : [])];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `${argv.join(' ')} failed (status ${r.status}):\n${r.stderr}${r.error ?? ''}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function assertAck(c: Command, seq: number, errno: number, pid: number): void {
  assert.equal(c.sent, 28);
  assert.equal(c.readable, true);
  assert.equal(c.count, 1);
  assert.deepEqual(c.acks, [{ type: 2, seq, pid, errno }]);
}

describe('NetlinkSocket on NETLINK_NETFILTER', () => {
  let r: Record<string, any>;
  before(() => {
    assert.equal(process.getuid?.(), 0, NEED_ROOT);
    r = runChild(['unshare', '--net']);
  });

  it('opens and binds with a kernel-assigned port id, a forced receive buffer and NETLINK_NO_ENOBUFS', () => {
    const [a, b] = r.portIds as number[];
    assert.ok(a > 0 && b > 0 && a !== b);
    assert.ok(r.rcvbufGranted >= 1 << 20, `granted ${r.rcvbufGranted} bytes`);
    assert.deepEqual(r.noEnobufs, [1, 0]);
  });

  it('a BIND with NLM_F_ACK comes back as one ACK with errno 0, our sequence number and port id', () => {
    assertAck(r.bind, 1, 0, r.portIds[0]);
  });

  it('this kernel answers EPERM to another socket binding a bound queue, and EBUSY to the owner binding it again', () => {
    assertAck(r.otherSocketBind, 2, EPERM, r.portIds[1]);
    assertAck(r.sameSocketRebind, 3, EBUSY, r.portIds[0]);
  });

  it('three commands in one send give three ACK datagrams, all drained by one receiveBatch', () => {
    const t = r.threeInOne;
    assert.equal(t.sent, 84);
    assert.equal(t.count, 3);
    assert.deepEqual(t.acks.map((a: Ack) => [a.seq, a.errno]), [[10, 0], [11, 0], [12, 0]]);
    assert.equal(t.thenEmpty, 0);
  });

  it('UNBIND frees the queue for another socket, and closing that socket frees it again', () => {
    assertAck(r.otherSocketBindAfterUnbind, 20, 0, r.portIds[1]);
    assertAck(r.bindAfterOtherClosed, 21, 0, r.portIds[0]);
  });

  it('wait() on an idle socket sleeps its 2 ms timeout and reports nothing readable', () => {
    assert.equal(r.idleWait.readable, false);
    assert.equal(r.idleWait.woken, false);
    assert.ok(r.idleWait.us >= 1900 && r.idleWait.us < 50_000, `slept ${r.idleWait.us} µs`);
  });

  it('wait() ends when another thread writes the wake eventfd, which it drains', () => {
    assert.equal(r.wake.readable, false);
    assert.equal(r.wake.woken, true);
    assert.ok(r.wake.ms >= 20 && r.wake.ms < 5000, `woke after ${r.wake.ms} ms`);
    assert.equal(r.wake.drained, -11, 'the eventfd was drained by wait()');
  });

  it('without CAP_NET_ADMIN the socket opens but BIND is refused with EPERM in the ACK', () => {
    const u = runChild(['unshare', '--net', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'], 'unprivileged');
    assert.equal(u.bind.count, 1);
    assert.equal(u.bind.acks[0].errno, EPERM);
  });

  it('an open the kernel refuses is a NetlinkSocketError with one clear line', () => {
    assert.throws(
      () => NetlinkSocket.open({ protocol: 99 }),
      (e: unknown) =>
        e instanceof NetlinkSocketError &&
        e.code === 'EPROTONOSUPPORT' &&
        e.message === 'cannot open a netlink socket (protocol 99): this kernel does not support it (EPROTONOSUPPORT; netfilter netlink needs CONFIG_NETFILTER_NETLINK)',
    );
  });
});
