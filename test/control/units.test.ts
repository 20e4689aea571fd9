import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnitError } from '../../src/control/errors.js';
import {
  formatDuration, formatRate, formatSize, isByteRate, parseDuration, parsePercent, parseRate, parseSize,
} from '../../src/control/units.js';

function throwsUnit(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof UnitError && err.code === 'UNIT' && message.test(err.message));
}

test('parseRate: tc spellings in bits per second, SI, case-insensitive', () => {
  assert.equal(parseRate('100bit'), 100);
  assert.equal(parseRate('64kbit'), 64_000);
  assert.equal(parseRate('10mbit'), 10_000_000);
  assert.equal(parseRate('1.5mbit'), 1_500_000);
  assert.equal(parseRate('2.4Mbit'), 2_400_000);
  assert.equal(parseRate('1gbit'), 1_000_000_000);
  assert.equal(parseRate('1tbit'), 1e12);
  assert.equal(parseRate('1kibit'), 1024);
  assert.equal(parseRate('2mibit'), 2 * 1024 * 1024);
  assert.equal(parseRate('10Mbit/s'), 10_000_000);
  assert.equal(parseRate(' 20 mbit '), 20_000_000);
  assert.equal(parseRate('.5mbit'), 500_000);
});

test('parseRate: bps, kbps, mbps are BYTES per second, as in tc', () => {
  assert.equal(parseRate('100bps'), 800);
  assert.equal(parseRate('1kbps'), 8000);
  assert.equal(parseRate('2mbps'), 16_000_000);
  assert.equal(parseRate('1gbps'), 8e9);
  assert.equal(isByteRate('2mbps'), true);
  assert.equal(isByteRate('2mbit'), false);
});

test('parseRate: errors say what to write', () => {
  throwsUnit(() => parseRate('2.4mbits'), /^'2\.4mbits' is not a rate — write e\.g\. 2\.4mbit$/);
  throwsUnit(() => parseRate('5kbti'), /write e\.g\. 5kbit/);
  throwsUnit(() => parseRate('1000'), /'1000' has no unit — write e\.g\. 1000bit or 1000kbit/);
  throwsUnit(() => parseRate('fast'), /'fast' is not a rate — write e\.g\. 2mbit/);
  throwsUnit(() => parseRate('50%'), /is a percentage; a rate is needed here/);
  throwsUnit(() => parseRate('64KB'), /'64KB' is a size, not a rate/);
  throwsUnit(() => parseRate('-1mbit'), /is not a rate/);
  throwsUnit(() => parseRate('2 furlongs'), /is not a rate — write e\.g\. 2mbit/);
});

test('parseSize: bare bytes, 1000-based KB/MB/GB and k, 1024-based KiB/MiB/GiB', () => {
  assert.equal(parseSize(1500), 1500);
  assert.equal(parseSize('1500'), 1500);
  assert.equal(parseSize('1500B'), 1500);
  assert.equal(parseSize('64KB'), 64_000);
  assert.equal(parseSize('64kb'), 64_000);
  assert.equal(parseSize('64k'), 64_000);
  assert.equal(parseSize('64K'), 64_000);
  assert.equal(parseSize('400MB'), 400_000_000);
  assert.equal(parseSize('1.5GB'), 1_500_000_000);
  assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
  assert.equal(parseSize('64KiB'), 65_536);
  assert.equal(parseSize('16MiB'), 16 * 1024 ** 2);
  assert.equal(parseSize('1TB'), 1e12);
});

test('parseSize: errors', () => {
  throwsUnit(() => parseSize(-1), /is not a size/);
  throwsUnit(() => parseSize(1.5), /whole number of bytes/);
  throwsUnit(() => parseSize('64kbit'), /'64kbit' is a rate, not a size — write e\.g\. 64KB/);
  throwsUnit(() => parseSize('64KBs'), /'64KBs' is not a size — write e\.g\. 64KB/);
  throwsUnit(() => parseSize('lots'), /'lots' is not a size/);
});

test('parseDuration: us, ms, s, m, h, d into microseconds', () => {
  assert.equal(parseDuration('500us'), 500);
  assert.equal(parseDuration('500µs'), 500);
  assert.equal(parseDuration('5ms'), 5000);
  assert.equal(parseDuration('1.5s'), 1_500_000);
  assert.equal(parseDuration('30s'), 30_000_000);
  assert.equal(parseDuration('5m'), 300_000_000);
  assert.equal(parseDuration('1h'), 3_600_000_000);
  assert.equal(parseDuration('1d'), 86_400_000_000);
});

test('parseDuration: errors', () => {
  throwsUnit(() => parseDuration('5'), /'5' has no unit — write e\.g\. 5ms or 5s/);
  throwsUnit(() => parseDuration('5mss'), /'5mss' is not a duration — write e\.g\. 5ms/);
  throwsUnit(() => parseDuration('soon'), /'soon' is not a duration/);
});

test('parsePercent: above 0, at most 100', () => {
  assert.equal(parsePercent('50%'), 50);
  assert.equal(parsePercent('100%'), 100);
  assert.equal(parsePercent('0.5%'), 0.5);
  throwsUnit(() => parsePercent('150%'), /not a percentage above 0% and at most 100%/);
  throwsUnit(() => parsePercent('0%'), /not a percentage above 0%/);
  throwsUnit(() => parsePercent('50'), /is not a percentage — write e\.g\. 50%/);
});

test('formatRate, formatSize, formatDuration: short strings that parse back', () => {
  assert.equal(formatRate(2_400_000), '2.4mbit');
  assert.equal(formatRate(512_000), '512kbit');
  assert.equal(formatRate(20_000_000), '20mbit');
  assert.equal(formatRate(1e9), '1gbit');
  assert.equal(formatRate(100), '100bit');
  assert.equal(formatRate(0), '0bit');
  assert.equal(formatSize(64_000), '64KB');
  assert.equal(formatSize(65_536), '64KiB');
  assert.equal(formatSize(1538), '1538B');
  assert.equal(formatSize(25_000), '25KB');
  assert.equal(formatSize(16_000_000), '16MB');
  assert.equal(formatSize(2 * 1024 ** 3), '2GiB');
  assert.equal(formatSize(0), '0B');
  assert.equal(formatDuration(5000), '5ms');
  assert.equal(formatDuration(500), '500us');
  assert.equal(formatDuration(1_500_000), '1.5s');
  assert.equal(formatDuration(300_000_000), '5m');
  assert.equal(formatDuration(86_400_000_000), '1d');
  assert.equal(formatDuration(Infinity), 'never');
  for (const bps of [2_400_000, 512_000, 1_234_000, 16_000, 3e9]) assert.equal(parseRate(formatRate(bps)), bps);
  for (const bytes of [64_000, 65_536, 1538, 16_000_000, 2 * 1024 ** 3]) assert.equal(parseSize(formatSize(bytes)), bytes);
  for (const us of [500, 5000, 1_500_000, 300_000_000, 3_600_000_000]) assert.equal(parseDuration(formatDuration(us)), us);
});
