/**
 * The CLI run in-process through runCli (output captured), and once as a child process through the
 * lead's bin/sluice.js.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/main.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

function withTemp(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

const SMALL_SCENARIO = `duration: 3s
sources:
  - {name: backup, kind: tcp, src: 192.168.1.10, dst: 203.0.113.50, dport: 8443, count: 2}
  - {name: ping, kind: interactive, proto: icmp, src: 192.168.1.20, dst: 198.51.100.1, interval: 100ms}
  - {name: web, kind: tcp, src: 192.168.1.30, dst: 198.51.100.80, dport: 443}
`;

describe('sluice check', () => {
  it('prints the class tree of a good file and exits 0', async () => {
    const r = await cli('check', '-c', join(EXAMPLES, 'home.yaml'));
    assert.equal(r.code, 0, r.err);
    for (const name of ['interactive', 'web', 'default']) assert.match(r.out, new RegExp(name));
    assert.match(r.out, /ok/);
  });

  it('warns of a link interface that does not exist (yet), and still exits 0', async () => {
    await withTemp({ 'wan.yaml': 'links:\n  - interface: sl-nosuch0\n    egress: 20mbit\n' }, async (dir) => {
      const r = await cli('check', '-c', join(dir, 'wan.yaml'));
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^warning: \S+wan\.yaml: links\[0\]\.interface: sl-nosuch0 does not exist in this network namespace \(yet\): sluice run refuses it until it does$/m);
    });
  });

  it('prints each problem as file:line:col and exits 1', async () => {
    await withTemp({ 'bad.yaml': 'links:\n  - interface: eth0\n    egress: 20mbits\nclasses:\n  web:\n    rate: 2mbit\n    ceil: lots\n' }, async (dir) => {
      const r = await cli('check', '-c', join(dir, 'bad.yaml'));
      assert.equal(r.code, 1);
      const lines = r.out.trim().split('\n');
      assert.ok(lines.length >= 2, r.out);
      assert.match(r.out, /bad\.yaml:3:13: links\[0\]\.egress: /);
      assert.match(r.out, /bad\.yaml:7:\d+: classes\.web\.ceil: /);
    });
  });

  it('refuses an exempt rule iptables cannot express, at file:line:col, exit 1', async () => {
    await withTemp({ 'x.yaml': 'datapath:\n  exempt: ["proto == \\"tcp\\" and lport < 1024"]\nlinks:\n  - interface: eth0\n    egress: 20mbit\n' }, async (dir) => {
      const r = await cli('check', '-c', join(dir, 'x.yaml'));
      assert.equal(r.code, 1);
      assert.equal(r.out, `${join(dir, 'x.yaml')}:2:32: datapath.exempt[0]: '<' cannot be an exemption: write a range, e.g. lport in 1024..65535 (an exemption is ==, in [list] or a..b conditions joined by and/or)\n`);
    });
  });

  it('a missing file is one line on stderr and a non-zero exit', async () => {
    const r = await cli('check', '-c', '/nonexistent/sluice.yaml');
    assert.notEqual(r.code, 0);
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.match(r.err, /\/nonexistent\/sluice\.yaml: no such configuration file/);
    assert.equal(r.out, '');
  });
});

describe('sluice simulate', () => {
  it('prints a report naming every class of the example', async () => {
    await withTemp({ 'short.scenario.yaml': SMALL_SCENARIO }, async (dir) => {
      const r = await cli('simulate', join(EXAMPLES, 'home.yaml'), join(dir, 'short.scenario.yaml'));
      assert.equal(r.code, 0, r.err);
      for (const name of ['interactive', 'web', 'default', 'backup#1', 'backup#2', 'ping']) assert.match(r.out, new RegExp(`\\b${name}\\b`));
      assert.match(r.out, /wan egress 20mbit/);
    });
  });

  it('--json prints the report as JSON', async () => {
    await withTemp({ 'short.scenario.yaml': SMALL_SCENARIO }, async (dir) => {
      const r = await cli('simulate', '--json', join(EXAMPLES, 'home.yaml'), join(dir, 'short.scenario.yaml'));
      assert.equal(r.code, 0, r.err);
      const report = JSON.parse(r.out);
      assert.equal(report.flows.length, 4);
      assert.deepEqual(report.links[0].directions[0].classes.map((c: { path: string }) => c.path), ['interactive', 'web', 'default']);
      assert.equal(report.flows.find((f: { name: string }) => f.name === 'web').class, 'web');
    });
  });

  it('a scenario\'s `at:` runs the schedule windows of that moment, named above the report; without it a note says they are not applied', async () => {
    const night = SMALL_SCENARIO.replace(/^duration: .*$/m, (d) => `${d}\nat: tue 02:00`);
    await withTemp({ 'night.scenario.yaml': night, 'plain.scenario.yaml': SMALL_SCENARIO }, async (dir) => {
      const r = await cli('simulate', join(EXAMPLES, 'seedbox.yaml'), join(dir, 'night.scenario.yaml'));
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.split('\n')[0], '0s (tue 02:00): windows in force: torrents 01:00-07:00');
      assert.equal(r.err, '');
      const plain = await cli('simulate', join(EXAMPLES, 'seedbox.yaml'), join(dir, 'plain.scenario.yaml'));
      assert.equal(plain.code, 0, plain.err);
      assert.match(plain.err, /^note: \S+plain\.scenario\.yaml: no `at:` .*the base rates and ceilings run\n$/);
      assert.doesNotMatch(plain.out, /windows in force/);
    });
  });

  it('a bad scenario prints its problems with line:col and exits 1', async () => {
    await withTemp({ 'bad.scenario.yaml': 'duration: ten seconds\nsources: []\n' }, async (dir) => {
      const r = await cli('simulate', join(EXAMPLES, 'home.yaml'), join(dir, 'bad.scenario.yaml'));
      assert.equal(r.code, 1);
      assert.match(r.err, /bad\.scenario\.yaml:1:11: duration: /);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
    });
  });

  it('an unknown link or file is one line on stderr', async () => {
    await withTemp({ 'link.scenario.yaml': SMALL_SCENARIO.replace('count: 2}', 'count: 2, link: dsl0}') }, async (dir) => {
      const r = await cli('simulate', join(EXAMPLES, 'home.yaml'), join(dir, 'link.scenario.yaml'));
      assert.equal(r.code, 1);
      assert.equal(r.err.trim().split('\n').length, 1);
      assert.match(r.err, /no link named 'dsl0'/);
    });
    const r = await cli('simulate', join(EXAMPLES, 'home.yaml'), '/nonexistent/x.scenario.yaml');
    assert.equal(r.code, 1);
    assert.equal(r.err.trim().split('\n').length, 1);
  });
});

describe('sluice', () => {
  it('--version prints the package version', async () => {
    const r = await cli('--version');
    assert.equal(r.code, 0);
    assert.match(r.out, /^\d+\.\d+\.\d+\n$/);
  });

  it('an unknown command exits non-zero', async () => {
    const r = await cli('frobnicate');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /unknown command/);
  });

  it('runs as a child process through bin/sluice.js', () => {
    const ok = spawnSync(process.execPath, [join(ROOT, 'bin', 'sluice.js'), 'check', '-c', join(EXAMPLES, 'seedbox.yaml')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /torrents/);
    const bad = spawnSync(process.execPath, [join(ROOT, 'bin', 'sluice.js'), 'check', '-c', '/nonexistent/sluice.yaml'], { encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(bad.status, 0);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  });
});

describe('defaults and small commands', () => {
  it('without -c the configuration comes from $SLUICE_CONFIG, else /etc/sluice/sluice.yaml', async () => {
    const saved = process.env.SLUICE_CONFIG;
    try {
      process.env.SLUICE_CONFIG = join(EXAMPLES, 'home.yaml');
      const r = await cli('check');
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /wan \(eth0\) egress 20mbit/);
      delete process.env.SLUICE_CONFIG;
      const missing = await cli('check');
      assert.notEqual(missing.code, 0);
      assert.match(missing.err, /\/etc\/sluice\/sluice\.yaml/);
    } finally {
      if (saved === undefined) delete process.env.SLUICE_CONFIG;
      else process.env.SLUICE_CONFIG = saved;
    }
  });

  it('version prints the package version', async () => {
    const r = await cli('version');
    assert.equal(r.code, 0);
    assert.match(r.out, /^\d+\.\d+\.\d+\n$/);
  });
});

describe('help', () => {
  it('--help lists the commands with examples and the exit statuses', async () => {
    const r = await cli('--help');
    assert.equal(r.code, 0);
    for (const c of ['run', 'start', 'stop', 'reload', 'status', 'flows', 'top', 'set', 'check', 'explain', 'simulate', 'demo']) assert.match(r.out, new RegExp(`^  ${c}\\b`, 'm'), c);
    assert.match(r.out, /^Examples:\n {2}sluice check -c /m);
    assert.match(r.out, /^Exit status: 0 ok, 1 a check failed/m);
  });

  it('every subcommand\'s --help ends with examples of that subcommand', async () => {
    const commands = ['simulate', 'check', 'explain', 'run', 'start', 'status', 'flows', 'set link', 'top', 'reload', 'stop', 'version', 'cleanup', 'demo'];
    for (const c of commands) {
      const r = await cli(...c.split(' '), '--help');
      assert.equal(r.code, 0, c);
      const examples = r.out.split(/^Examples:\n/m)[1];
      assert.ok(examples !== undefined, `${c} --help has no examples:\n${r.out}`);
      const lines = examples.trimEnd().split('\n');
      assert.ok(lines.length >= 1);
      for (const line of lines) assert.match(line, new RegExp(`^ {2}(sudo )?(\\S+=\\S+ )?sluice (${c}|netstat)\\b.* {2}\\S`), `${c}: ${line}`);
    }
  });
});
