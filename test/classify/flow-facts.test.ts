/**
 * The process, country and layer-7 attributes (flow-facts.ts) in rules: flow scope, the "absent"
 * semantics (forwarded traffic matches no process rule, whatever the operator; l7 while pending
 * matches only `l7 == "pending"`), canonical literals, and load-time errors for values that cannot be.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileRule } from '../../src/classify/compile.js';
import { MatchContext, NO_OWNER, type OwnerFacts } from '../../src/classify/context.js';
import { RuleError } from '../../src/classify/errors.js';
import { l7Code } from '../../src/classify/flow-facts.js';

const FRED: OwnerFacts = { ...NO_OWNER, found: true, known: true, pid: 4242, uid: 1000, gid: 1000, user: 'fred', group: 'fred', cmd: 'curl', exe: '/usr/bin/curl', args: 'curl -O http://x/', cgroup: '/user.slice/user-1000.slice/session-2.scope', unit: 'session-2.scope' };
/** A socket was found, its process was not (it exited, or the socket is in TIME_WAIT). */
const SOCKET_ONLY: OwnerFacts = { ...NO_OWNER, found: true, uid: 1000, user: 'fred', cmd: 'unknown', exe: 'unknown', args: 'unknown', group: 'unknown', cgroup: 'unknown', unit: 'unknown' };

function holds(source: string, fill: (c: MatchContext) => void): boolean {
  const ctx = new MatchContext();
  fill(ctx);
  return compileRule(source, { label: 'r' }).test(ctx);
}

function errorOf(source: string): RuleError {
  try {
    compileRule(source, { label: 'classes.x.match' });
  } catch (e) {
    assert.ok(e instanceof RuleError);
    return e;
  }
  assert.fail(`'${source}' compiled`);
}

test('process attributes read the owner; all are flow scope', () => {
  const own = (c: MatchContext): void => void (c.owner = FRED);
  for (const rule of ['user == "fred"', 'uid == 1000', 'gid < 1001', 'group == "fred"', 'pid == 4242', 'cmd in ["amule", "curl"]', 'exe ~ "^/usr/bin/"', 'args ~ "-O"', 'cgroup ~ "user-1000"', 'unit == "session-2.scope"']) {
    assert.equal(holds(rule, own), true, rule);
    assert.equal(compileRule(rule, { label: 'r' }).perPacket, false, `${rule} is decided once per flow`);
  }
  assert.equal(holds('user == "fred" and cmd in ["amule", "transmission-daemon"]', own), false);
});

test('forwarded traffic (no socket) matches no process comparison, whatever the operator; not() negates as written', () => {
  const none = (c: MatchContext): void => void (c.owner = NO_OWNER);
  for (const rule of ['user == "fred"', 'user != "fred"', 'uid != 0', 'uid >= 0', 'cmd ~ ".*"', 'cmd in ["a", "b"]', 'cmd not in ["a", "b"]', 'pid >= 0']) {
    assert.equal(holds(rule, none), false, rule);
  }
  assert.equal(holds('not (user == "fred")', none), true);
  assert.equal(holds('not user == "fred" or rport == 0', none), true);
});

test('a socket whose process was not found has its uid and user, and "unknown" for the rest', () => {
  const sock = (c: MatchContext): void => void (c.owner = SOCKET_ONLY);
  assert.equal(holds('user == "fred" and uid == 1000', sock), true);
  assert.equal(holds('cmd == "unknown"', sock), true);
  assert.equal(holds('pid < 0', sock), true);
  assert.equal(holds('cmd == "curl"', sock), false);
});

test('l7 is pending until decided: only l7 == "pending" holds then; afterwards the protocol and host compare', () => {
  const pending = (c: MatchContext): void => void (c.l7Code = l7Code('pending'));
  assert.equal(holds('l7 == "pending"', pending), true);
  assert.equal(holds('l7 in ["pending", "unknown"]', pending), true);
  for (const rule of ['l7 == "http"', 'l7 != "http"', 'l7 == "unknown"', 'l7.host == ""', 'l7.host ~ ".*"', 'flow.entropy >= 0', 'flow.entropy < 9']) {
    assert.equal(holds(rule, pending), false, rule);
  }
  const tls = (c: MatchContext): void => {
    c.l7Code = l7Code('tls');
    c.l7Host = 'www.example.com';
    c.entropyBits = 6.1;
  };
  assert.equal(holds('l7 == "tls" and l7.host == "WWW.Example.com"', tls), true, 'host literals compare in lower case');
  assert.equal(holds('l7 != "http" and l7 != "pending"', tls), true);
  assert.equal(holds('l7.host ~ "example\\\\.com$" and flow.entropy > 6', tls), true);
  assert.equal(holds('l7 == "bittorrent" or flow.entropy > 7.5', tls), false);
  assert.equal(l7Code('something-new'), l7Code('unknown'));
});

test('cc takes any case and compares as the upper-case code; private is "--"', () => {
  const sk = (c: MatchContext): void => {
    c.cc = 'SK';
    c.country = 'Slovakia';
  };
  assert.equal(holds('cc == "sk"', sk), true);
  assert.equal(holds('cc in ["CZ", "sk"] and country == "Slovakia"', sk), true);
  assert.equal(holds('cc == "--"', (c) => void (c.cc = '--')), true);
});

test('values that cannot be are errors at load time, with the expected form', () => {
  const e = errorOf('cc == "Slovakia"');
  assert.equal(e.code, 'type');
  assert.match(e.reason, /two-letter country code such as "SK"/);
  assert.equal(e.column, 7);
  assert.match(errorOf('l7 == "bittorent"').reason, /did you mean "bittorrent"/);
  assert.match(errorOf('uid == "fred"').reason, /'uid' is a number/);
  assert.match(errorOf('usr == "fred"').reason, /did you mean 'user'/);
  assert.match(errorOf('cmd > "a"').reason, /'>' does not apply to 'cmd'/);
});
