/**
 * Failures of iptables become one clear line: what iptables and `ip netns exec` print in each case
 * (captured on this machine, or from iptables' source for kernel features it cannot show), fed
 * through the applier with a fake command runner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailure, FirewallError, type CommandResult } from '../../../src/datapath/firewall/errors.js';
import { IptablesFirewall } from '../../../src/datapath/firewall/iptables.js';
import { planFirewall } from '../../../src/datapath/firewall/plan.js';
import { execRunner, type CommandRunner } from '../../../src/datapath/firewall/run.js';

const failed = (stderr: string, exitCode: number | null = 1, spawnError: string | null = null): CommandResult => ({ exitCode, stdout: '', stderr, spawnError });

const PLAN = planFirewall({ queues: { first: 0, last: 0 }, failOpen: true, bypassMark: 0x58, links: [{ interface: 'eth0', egress: true, ingress: false }], exempt: [] });

test('a missing iptables binary says what to install', () => {
  const e = describeFailure('iptables', 'iptables', failed('', null, 'ENOENT'));
  assert.equal(e.code, 'not-installed');
  assert.equal(e.message, 'iptables is not installed: apt-get install iptables');
  assert.equal(describeFailure('ip6tables-restore', 'ip6tables-restore', failed('', null, 'ENOENT')).message, 'ip6tables is not installed: apt-get install iptables');
});

test('inside a namespace: a missing iptables (exec failed) or a missing ip binary', () => {
  const e = describeFailure('iptables', 'ip', failed('exec of "iptables" failed: No such file or directory\n', 255));
  assert.equal(e.message, 'iptables is not installed: apt-get install iptables');
  assert.equal(describeFailure('iptables', 'ip', failed('', null, 'ENOENT')).message, 'ip is not installed: apt-get install iproute2');
  assert.equal(describeFailure('iptables', 'ip', failed('Cannot open network namespace "x1": No such file or directory\n', 255)).message, 'network namespace x1 does not exist');
});

test('not root says root is needed', () => {
  const e = describeFailure('iptables', 'iptables', failed('iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n', 4));
  assert.equal(e.code, 'not-root');
  assert.equal(e.message, 'managing firewall rules needs root (CAP_NET_ADMIN)');
});

test('a kernel without the NFQUEUE target says so, whether iptables names it or only the failing rule does', () => {
  const script = ['*mangle', ':SLUICE-EGRESS - [0:0]', '-A SLUICE-EGRESS -o lo -m comment --comment sluice -j RETURN', '-A SLUICE-EGRESS -m comment --comment sluice -j NFQUEUE --queue-num 0', 'COMMIT'].join('\n');
  const byName = describeFailure('iptables-restore', 'iptables-restore', failed("iptables-restore: Couldn't load target `NFQUEUE':No such file or directory\n", 2), script);
  const byLine = describeFailure('iptables-restore', 'iptables-restore', failed('iptables-restore v1.8.9 (nf_tables): line 4: RULE_APPEND failed (No such file or directory): rule in chain SLUICE-EGRESS\n', 4), script);
  for (const e of [byName, byLine]) {
    assert.equal(e.code, 'kernel-feature');
    assert.match(e.message, /^this kernel has no NFQUEUE target for iptables/);
  }
  const comment = describeFailure('iptables-restore', 'iptables-restore', failed("Couldn't load match `comment':No such file or directory\n", 2), script);
  assert.equal(comment.message, 'this kernel has no iptables comment extension (modprobe xt_comment)');
});

test('any other failure is one line naming the tool, the exit status and the rule it failed on', () => {
  const script = '*mangle\n-D POSTROUTING -o eth0 -j SLUICE-NOPE\nCOMMIT\n';
  const e = describeFailure(
    'iptables-restore',
    'iptables-restore',
    failed("iptables-restore v1.8.9 (nf_tables): Chain 'SLUICE-NOPE' does not exist\nError occurred at line: 2\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.\n", 2),
    script,
  );
  assert.equal(e.code, 'failed');
  assert.equal(e.message, `iptables-restore failed (exit 2) at rule "-D POSTROUTING -o eth0 -j SLUICE-NOPE": iptables-restore v1.8.9 (nf_tables): Chain 'SLUICE-NOPE' does not exist`);
  assert.equal(e.message.includes('\n'), false);
});

test('the applier runs iptables without a shell, inside the namespace when asked, and throws the described error', async () => {
  const calls: Array<{ file: string; args: readonly string[]; stdin?: string }> = [];
  const run: CommandRunner = async (file, args, stdin) => {
    calls.push({ file, args, stdin });
    return failed('iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n', 4);
  };
  const fw = new IptablesFirewall({ netns: 'sl-fw-test', run, families: ['ipv6'] });
  await assert.rejects(fw.install(PLAN), (e: unknown) => e instanceof FirewallError && e.code === 'not-root');
  assert.deepEqual(calls, [{ file: 'ip', args: ['netns', 'exec', 'sl-fw-test', 'ip6tables', '-w', '-t', 'mangle', '-S'], stdin: undefined }]);
});

test('the real runner reports a binary that does not exist as not installed', async () => {
  const result = await execRunner('iptables-does-not-exist-here', ['-S']);
  assert.equal(result.spawnError, 'ENOENT');
  assert.equal(describeFailure('iptables', 'iptables-does-not-exist-here', result).code, 'not-installed');
  const ok = await execRunner('cat', [], 'through stdin');
  assert.deepEqual(ok, { exitCode: 0, stdout: 'through stdin', stderr: '', spawnError: null });
  const bad = await execRunner('sh', ['-c', 'echo oops >&2; exit 3']);
  assert.deepEqual(bad, { exitCode: 3, stdout: '', stderr: 'oops\n', spawnError: null });
});
