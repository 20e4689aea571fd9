/**
 * The traffic agent as a program, without namespaces: the command line that starts it from source
 * (through tsx) or from the compiled dist/ (plain node), its argument checking, and its failure
 * protocol (exit 1 with one line on stderr and nothing on stdout). A caller's bad arguments are
 * refused before any process starts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../../src/lab/topology.js';
import { agentArgv, agentCommand, startAgent } from '../../src/lab/traffic/index.js';
import { parseRoleArgs, ROLES } from '../../src/lab/traffic/args.js';

/** Runs the agent from source with the given arguments; it must fail before touching the network. */
function runBad(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const [cmd, ...rest] = agentCommand('tcp-sink', {});
  const argv = [...rest.slice(0, -2), ...args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the agent command line', () => {
  it('is plain node for a compiled (.js) location', () => {
    const argv = agentArgv('file:///opt/sluice/dist/lab/traffic/index.js', 'udp-sink', { port: 5302, tag: 7, lifetimeMs: 1000 });
    assert.deepEqual(argv, [process.execPath, '/opt/sluice/dist/lab/traffic/agent.js', 'udp-sink', '{"port":5302,"tag":7,"lifetimeMs":1000}']);
  });

  it('runs agent.ts through an absolute tsx loader for a source (.ts) location', () => {
    const argv = agentArgv('file:///work/x/src/lab/traffic/command.ts', 'tcp-sink', { port: 1 });
    assert.equal(argv[0], process.execPath);
    assert.equal(argv[1], '--import');
    assert.match(argv[2], /^file:\/\/\/.*tsx.*\.mjs$/);
    assert.ok(existsSync(fileURLToPath(argv[2])), argv[2]);
    assert.deepEqual(argv.slice(3), ['/work/x/src/lab/traffic/agent.ts', 'tcp-sink', '{"port":1}']);
  });

  it('from this checkout points at the agent source that exists', () => {
    const argv = agentCommand('rr-server', {});
    assert.ok(existsSync(argv[3]), argv[3]);
    assert.match(argv[3], /src\/lab\/traffic\/agent\.ts$/);
  });
});

describe('agent arguments', () => {
  it('fill in defaults', () => {
    const bulk = parseRoleArgs('tcp-bulk', '{"host":"10.200.1.2","port":5301,"durationMs":1000}');
    assert.deepEqual(bulk, { host: '10.200.1.2', port: 5301, family: 4, durationMs: 1000, streams: 1, writeBytes: 1 << 20, lingerMs: 2000 });
    const probe = parseRoleArgs('rr-probe', '{"host":"fd00:200:1::2","port":9,"family":6,"durationMs":100,"tag":1,"intervalMs":10}');
    assert.equal(probe.proto, 'udp');
    assert.equal(probe.timeoutMs, 1000);
  });

  it('are refused in one line naming each problem', () => {
    assert.throws(
      () => parseRoleArgs('udp-rate', '{"host":"nowhere","port":70000,"tag":1,"rateBps":-5,"payloadBytes":1200,"durationMs":1000}'),
      (e: Error) => /^udp-rate: host: expected an IPv4 or IPv6 address; port: .*; rateBps: .*$/.test(e.message) && !e.message.includes('\n'),
    );
    assert.throws(() => parseRoleArgs('tcp-sink', '{"port":1,"lifetimeMs":10,"extra":true}'), /tcp-sink: .*extra/);
    assert.throws(() => parseRoleArgs('udp-flood', '{"host":"10.0.0.1","durationMs":10,"packetsPerSecond":1,"portLow":9,"portHigh":8}'), /portLow must not exceed portHigh/);
    assert.throws(() => parseRoleArgs('tcp-sink', '{port: 1}'), /tcp-sink: the argument is not JSON/);
    assert.throws(() => parseRoleArgs('tcp-bulk', '{"host":"10.0.0.1","port":1,"durationMs":700000}'), /durationMs/);
  });

  it('name every role the API uses', () => {
    assert.deepEqual([...ROLES].sort(), ['rr-probe', 'rr-server', 'tcp-bulk', 'tcp-sink', 'udp-flood', 'udp-rate', 'udp-sink']);
  });

  it('are checked in the caller before any process starts', () => {
    const lab = { spawn: () => assert.fail('spawned an agent with bad arguments') } as unknown as Lab;
    assert.throws(() => startAgent(lab, 'client', 'tcp-bulk', { host: '10.200.1.2', port: 0, durationMs: 1000 }), /tcp-bulk: port/);
  });
});

describe('the agent program', () => {
  it('exits 1 with one line on stderr and nothing on stdout for bad arguments', () => {
    const r = runBad(['udp-rate', '{"host":"10.200.1.2","port":5302,"tag":1,"rateBps":0,"payloadBytes":1200,"durationMs":1000}']);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^udp-rate: rateBps: [^\n]*\n$/);
  });

  it('exits 1 with one line for an unknown role or a missing argument', () => {
    const unknown = runBad(['tcp-blast', '{}']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^unknown role "tcp-blast" \(roles: tcp-sink, tcp-bulk, [^\n]*\)\n$/);
    const missing = runBad(['tcp-sink']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^usage: agent ROLE JSON [^\n]*\n$/);
  });
});
