import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadScenario, parseScenario } from '../../src/sim/scenario.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

describe('scenario files', () => {
  it('parses units and fills defaults', () => {
    const r = parseScenario(`
duration: 1.5m
sources:
  - {name: a, kind: tcp, src: 192.0.2.1, dst: 198.51.100.2, bytes: 10MB, rwnd: 64KiB, start: 500ms}
  - {name: b, kind: constant, rate: 2.4mbit, src: "2001:db8::1", dst: "2001:db8::2", dscp: EF}
`);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
    assert.equal(r.scenario.durationUs, 90_000_000);
    assert.equal(r.scenario.rttUs, 20_000);
    assert.equal(r.scenario.warmupUs, 0);
    assert.equal(r.scenario.ecn, false);
    const [a, b] = r.scenario.sources;
    assert.equal(a.bytes, 10_000_000);
    assert.equal(a.rwnd, 65_536);
    assert.equal(a.start, 500_000);
    assert.equal(b.rate, 2_400_000);
    assert.equal(b.dscp, 46);
  });

  it('locates problems at line:column with the path and a helpful message', () => {
    const r = parseScenario(`duration: 10s
sources:
  - name: a
    kind: tcp
    src: 192.0.2.1
    dst: 198.51.100.2
    rwnd: 64mbit
  - name: b
    kind: constnt
    src: 192.0.2.999
    dst: 198.51.100.2
    respnse: 200
`, 'x.scenario.yaml');
    assert.equal(r.ok, false);
    if (r.ok) return;
    const byPath = new Map(r.problems.map((p) => [p.path, p]));
    const rwnd = byPath.get('sources[0].rwnd');
    assert.ok(rwnd, JSON.stringify(r.problems));
    assert.deepEqual([rwnd.line, rwnd.column], [7, 11]);
    assert.match(rwnd.message, /rate, not a size/);
    const kind = byPath.get('sources[1].kind');
    assert.ok(kind);
    assert.deepEqual([kind.line, kind.column], [9, 11]);
    assert.deepEqual([byPath.get('sources[1].src')?.line, byPath.get('sources[1].src')?.column], [10, 10]);
    const unknown = r.problems.find((p) => /unknown key 'respnse'/.test(p.message));
    assert.ok(unknown, JSON.stringify(r.problems));
    assert.match(unknown.message, /did you mean 'response'/);
    assert.equal(unknown.file, 'x.scenario.yaml');
  });

  it('says what a source kind is missing', () => {
    const r = parseScenario(`duration: 10s
sources:
  - {name: cbr, kind: constant, src: 192.0.2.1, dst: 198.51.100.2}
  - {name: mix, kind: tcp, src: 192.0.2.1, dst: "2001:db8::2"}
`);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.problems.length, 2);
    assert.match(r.problems[0].message, /needs 'rate'/);
    assert.equal(r.problems[0].line, 3);
    assert.match(r.problems[1].message, /both be IPv4 or both IPv6/);
    assert.equal(r.problems[1].line, 4);
  });

  it('reports YAML syntax errors and missing files as problems', () => {
    const bad = parseScenario('duration: 10s\nsources: [\n', 'broken.yaml');
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.ok(bad.problems[0].line >= 2);
    const missing = loadScenario('/nonexistent/none.scenario.yaml');
    assert.equal(missing.ok, false);
    if (!missing.ok) {
      assert.match(missing.problems[0].message, /no such file/);
      assert.deepEqual([missing.problems[0].line, missing.problems[0].column], [0, 0]);
    }
  });

  it('loads every bundled example scenario', () => {
    for (const name of ['home-bulk-vs-interactive', 'seedbox', 'many-hosts']) {
      const r = loadScenario(`${EXAMPLES}${name}.scenario.yaml`);
      assert.ok(r.ok, `${name}: ${JSON.stringify(!r.ok && r.problems)}`);
    }
  });
});
