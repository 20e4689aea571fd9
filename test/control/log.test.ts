/**
 * The daemon's log (src/control/log.ts): which levels pass, the text lines people already read, the
 * syslog priority journald takes from a line's start (only on a stream that is journald's), json
 * lines that parse and carry the event's fields, and -v/-q over the file's level over info.
 */
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { journalStreams, Logger, logSettings, type FileLogSection, type JournalStreams, type LogFlags } from '../../src/control/log.js';

const AT = new Date('2026-03-01T12:00:00.000Z');

/** A logger writing into two arrays of writes (one entry per write call). */
function capture(fromFile?: FileLogSection, flags: LogFlags = {}, journal?: JournalStreams): { log: Logger; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const log = new Logger({ out: (t) => out.push(t), err: (t) => err.push(t) }, fromFile, flags, journal, () => AT);
  return { log, out, err };
}

function everyLevel(log: Logger): void {
  log.error('e');
  log.warn('w');
  log.info('i');
  log.debug('d');
}

describe('log levels', () => {
  it('info by default: errors and warnings to stderr, info to stdout, no debug', () => {
    const { log, out, err } = capture();
    everyLevel(log);
    assert.deepEqual(err, ['sluice: e\n', 'sluice: warning: w\n']);
    assert.deepEqual(out, ['sluice: i\n']);
  });

  it('each level lets through itself and what is more severe', () => {
    const seen = (level: 'error' | 'warn' | 'info' | 'debug'): number => {
      const { log, out, err } = capture({ level });
      everyLevel(log);
      return out.length + err.length;
    };
    assert.deepEqual([seen('error'), seen('warn'), seen('info'), seen('debug')], [1, 2, 3, 4]);
  });

  it('-v and -q win over the file, the file over info; the format is the file\'s', () => {
    assert.deepEqual(logSettings(undefined), { level: 'info', format: 'text' });
    assert.deepEqual(logSettings({ level: 'error', format: 'json' }), { level: 'error', format: 'json' });
    assert.deepEqual(logSettings({ level: 'error' }, { verbose: true }), { level: 'debug', format: 'text' });
    assert.deepEqual(logSettings({ level: 'debug', format: 'json' }, { quiet: true }), { level: 'warn', format: 'json' });
  });

  it('configure() takes a reloaded file\'s section, the command line\'s flag still first', () => {
    const { log, out } = capture(undefined, { quiet: true });
    log.configure({ level: 'debug', format: 'json' });
    log.info('hidden');
    assert.deepEqual(out, [], '-q keeps info out whatever the file says');
    assert.equal(log.enabled('warn'), true);
    const plain = capture({ level: 'warn' });
    plain.log.configure({ level: 'debug' });
    plain.log.debug('shown');
    assert.deepEqual(plain.out, ['sluice: shown\n']);
  });
});

describe('text lines', () => {
  it('a row is written as it is, for columns; a message of several lines is one write per line', () => {
    const { log, out, err } = capture({ level: 'debug' });
    log.row('debug', '  wan egress web  2mbit');
    log.error('iptables failed:\nline two');
    assert.deepEqual(out, ['  wan egress web  2mbit\n']);
    assert.deepEqual(err, ['sluice: iptables failed:\n', '  line two\n']);
  });

  it('under journald every line starts with its syslog priority, on the streams that are journald\'s only', () => {
    const { log, out, err } = capture({ level: 'debug' }, {}, { out: true, err: true });
    everyLevel(log);
    log.row('debug', '  a row');
    log.error('two\nlines');
    assert.deepEqual(err, ['<3>sluice: e\n', '<4>sluice: warning: w\n', '<3>sluice: two\n', '<3>  lines\n']);
    assert.deepEqual(out, ['<6>sluice: i\n', '<7>sluice: d\n', '<7>  a row\n']);
    const half = capture(undefined, {}, { out: true, err: false });
    everyLevel(half.log);
    assert.deepEqual([...half.err, ...half.out], ['sluice: e\n', 'sluice: warning: w\n', '<6>sluice: i\n']);
  });
});

describe('json lines', () => {
  it('one object per line with time, level, msg and the event\'s fields; rows with their spaces folded', () => {
    const { log, out, err } = capture({ level: 'debug', format: 'json' });
    log.info('wan egress set to 15mbit', { link: 'wan', direction: 'egress', rateBps: 15e6 });
    log.warn('owner lookups: no answer');
    log.row('debug', '  wan egress web  2mbit', { class: 'web' });
    assert.equal(out.length + err.length, 3);
    for (const line of [...out, ...err]) assert.match(line, /^\{[^\n]*\}\n$/, 'one line, one write');
    assert.deepEqual(JSON.parse(out[0]), { time: AT.toISOString(), level: 'info', msg: 'wan egress set to 15mbit', link: 'wan', direction: 'egress', rateBps: 15e6 });
    assert.deepEqual(JSON.parse(err[0]), { time: AT.toISOString(), level: 'warn', msg: 'owner lookups: no answer' });
    assert.deepEqual(JSON.parse(out[1]), { time: AT.toISOString(), level: 'debug', msg: 'wan egress web 2mbit', class: 'web' });
  });

  it('a message of several lines stays one line of json; under journald it carries the priority too', () => {
    const { log, err } = capture({ format: 'json' }, {}, { out: false, err: true });
    log.error('first\nsecond');
    assert.equal(err.length, 1);
    assert.ok(err[0].startsWith('<3>{'));
    assert.equal((JSON.parse(err[0].slice(3)) as { msg: string }).msg, 'first\nsecond');
  });
});

describe('journald streams (JOURNAL_STREAM=DEV:INODE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-'));
  const fd = openSync(join(dir, 'stream'), 'w');
  const other = openSync(join(dir, 'other'), 'w');
  const id = (f: number): { dev: bigint; ino: bigint } => {
    const s = fstatSync(f, { bigint: true });
    return { dev: s.dev, ino: s.ino };
  };
  const named = `${id(fd).dev}:${id(fd).ino}`;

  it('a descriptor is journald\'s when its device and inode are the ones named, not because the variable is set', () => {
    assert.deepEqual(journalStreams(named, (f) => id(f === 1 ? fd : other)), { out: true, err: false });
    assert.deepEqual(journalStreams(named, () => id(fd)), { out: true, err: true });
    assert.deepEqual(journalStreams(named, () => id(other)), { out: false, err: false }, 'inherited by a process whose output goes elsewhere');
    assert.deepEqual(journalStreams(named, () => null), { out: false, err: false }, 'closed descriptors');
  });

  it('no variable, or a malformed one, is no journald', () => {
    assert.deepEqual(journalStreams(undefined, () => id(fd)), { out: false, err: false });
    assert.deepEqual(journalStreams('garbage', () => id(fd)), { out: false, err: false });
  });

  it('the process\'s own descriptors are read when no identity is given', () => {
    const self = fstatSync(2, { bigint: true });
    assert.equal(journalStreams(`${self.dev}:${self.ino}`).err, true);
    closeSync(fd);
    closeSync(other);
    rmSync(dir, { recursive: true, force: true });
  });
});
