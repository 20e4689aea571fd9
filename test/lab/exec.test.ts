/**
 * The tool runner (no root needed): argument arrays are passed untouched (no shell), failures become
 * one-line errors naming the command, exit status and stderr, a missing tool names its Debian package,
 * timeouts are bounded, and PATH reaches /usr/sbin and /sbin.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LabCommandError, run, runSync, toolEnv } from '../../src/lab/exec.js';

const node = process.execPath;

describe('run', () => {
  it('passes arguments as they are: shell syntax reaches the program untouched', async () => {
    const r = await run([node, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '$(id)', 'a b;c', '*']);
    assert.deepEqual(JSON.parse(r.stdout), ['$(id)', 'a b;c', '*']);
    assert.equal(r.exitCode, 0);
  });

  it('a non-zero exit throws one line with the command, the status and stderr', async () => {
    const err = await run([node, '-e', 'console.error("first\\nsecond"); process.exit(3)']).then(
      () => assert.fail('should have thrown'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof LabCommandError);
    assert.equal(err.exitCode, 3);
    assert.ok(!err.message.includes('\n'), err.message);
    assert.ok(err.message.startsWith(`${node} -e `), err.message);
    assert.match(err.message, /failed \(exit 3\): first \/ second$/);
  });

  it('check: false returns the status instead of throwing', async () => {
    const r = await run([node, '-e', 'process.exit(2)'], { check: false });
    assert.equal(r.exitCode, 2);
  });

  it('feeds input to stdin', async () => {
    const r = await run([node, '-e', 'process.stdin.pipe(process.stdout)'], { input: 'hello' });
    assert.equal(r.stdout, 'hello');
  });

  it('a missing tool says what to install', async () => {
    await assert.rejects(run(['ethtool-does-not-exist']), /^LabCommandError: ethtool-does-not-exist could not start: ethtool-does-not-exist is not installed$/);
  });

  it('a command that runs too long is killed and reported', async () => {
    const t0 = Date.now();
    await assert.rejects(run([node, '-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 300 }), /timed out after 300 ms/);
    assert.ok(Date.now() - t0 < 5000);
  });
});

describe('runSync and toolEnv', () => {
  it('runSync returns the status and output without throwing', () => {
    const r = runSync([node, '-e', 'console.log("out"); console.error("err"); process.exit(4)']);
    assert.equal(r.exitCode, 4);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  });

  it('PATH gains /usr/sbin and /sbin once, after what was there', () => {
    assert.equal(toolEnv({ PATH: '/opt/bin' }).PATH, '/opt/bin:/usr/sbin:/sbin:/usr/bin:/bin');
    assert.equal(toolEnv({ PATH: '/usr/sbin:/x:/sbin:/usr/bin:/bin' }).PATH, '/usr/sbin:/x:/sbin:/usr/bin:/bin');
  });
});
