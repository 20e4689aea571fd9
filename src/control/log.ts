/**
 * The daemon's log: one line per event, errors and warnings on stderr, the rest on stdout, each line
 * handed over in one write so that lines from two sources never interleave mid-line.
 *
 * - `text`: `sluice: MESSAGE`, warnings `sluice: warning: MESSAGE` — what a person reads in a
 *   terminal, and what `sluice run` printed before it had levels.
 * - `json`: one object per line, `{"time":ISO,"level":…,"msg":…}` plus the event's own fields
 *   (link, direction, class, rateBps…), for log shippers.
 *
 * Under journald each line starts with its syslog priority (`<3>` error, `<4>` warning, `<6>` info,
 * `<7>` debug: sd-daemon(3)); journald strips it and records the level, which `journalctl -p`
 * filters on. A stream is journald's when JOURNAL_STREAM (DEV:INODE, set by systemd) names the very
 * descriptor, as systemd.exec(5) asks: the variable alone is inherited by every child, also one whose
 * output goes elsewhere (a `sluice start` run from a unit writes a log file, where `<6>` would be noise).
 *
 * Levels: `-q` (warn) or `-v` (debug) on the command line win over `log.level` in the file, which
 * wins over info; a reload may change the file's level and format (configure()).
 */
import { fstatSync } from 'node:fs';
import { LOG_LEVELS, type LogLevel } from './schema.js';

export type LogFormat = 'text' | 'json';

export interface LogSettings {
  level: LogLevel;
  format: LogFormat;
}

/** An event's structured fields (json format only; text carries them in its message); never named time, level or msg. */
export type LogFields = Readonly<Record<string, string | number | boolean | null | readonly (string | number)[]>>;

/** Where lines go; the CLI's Io is one. */
export interface LogStreams {
  out(text: string): void;
  err(text: string): void;
}

/** Which of stdout and stderr are journald streams. */
export interface JournalStreams {
  out: boolean;
  err: boolean;
}

export const NO_JOURNAL: JournalStreams = { out: false, err: false };

/** sd-daemon(3) line prefixes. */
const PRIORITY: Readonly<Record<LogLevel, string>> = { error: '<3>', warn: '<4>', info: '<6>', debug: '<7>' };

/** A descriptor's device and inode; null when it is closed. */
export type FdIdentity = { dev: bigint; ino: bigint } | null;

function fdIdentity(fd: number): FdIdentity {
  try {
    const s = fstatSync(fd, { bigint: true });
    return { dev: s.dev, ino: s.ino };
  } catch {
    return null;
  }
}

/** Which of fd 1 and 2 are the stream JOURNAL_STREAM (`DEV:INODE`, decimal) names. */
export function journalStreams(journalStream: string | undefined = process.env.JOURNAL_STREAM, identity: (fd: 1 | 2) => FdIdentity = fdIdentity): JournalStreams {
  const m = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (m === null) return NO_JOURNAL;
  const dev = BigInt(m[1]);
  const ino = BigInt(m[2]);
  const is = (fd: 1 | 2): boolean => {
    const id = identity(fd);
    return id !== null && id.dev === dev && id.ino === ino;
  };
  return { out: is(1), err: is(2) };
}

/** The configuration file's `log:` section. */
export interface FileLogSection {
  level?: LogLevel;
  format?: LogFormat;
}

/** The command line's say: -v (debug) or -q (warn). */
export interface LogFlags {
  verbose?: boolean;
  quiet?: boolean;
}

/** The level and format in force: -v/-q over the file's `log:` over info; text unless the file says json. */
export function logSettings(fromFile: FileLogSection | undefined, flags: LogFlags = {}): LogSettings {
  const level = flags.verbose === true ? 'debug' : flags.quiet === true ? 'warn' : fromFile?.level ?? 'info';
  return { level, format: fromFile?.format ?? 'text' };
}

export class Logger {
  private rank: number;
  private format: LogFormat;

  constructor(
    private readonly streams: LogStreams,
    fromFile: FileLogSection | undefined,
    private readonly flags: LogFlags = {},
    private readonly journal: JournalStreams = NO_JOURNAL,
    private readonly now: () => Date = () => new Date(),
  ) {
    const settings = logSettings(fromFile, flags);
    this.rank = LOG_LEVELS.indexOf(settings.level);
    this.format = settings.format;
  }

  /** A reloaded file's `log:` section; the command line's -v/-q still come first. */
  configure(fromFile: FileLogSection | undefined): void {
    const settings = logSettings(fromFile, this.flags);
    this.rank = LOG_LEVELS.indexOf(settings.level);
    this.format = settings.format;
  }

  /** Whether events of `level` are written: callers skip building costly ones (the per-class summary). */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= this.rank;
  }

  error(msg: string, fields?: LogFields): void {
    this.event('error', msg, fields, true);
  }

  warn(msg: string, fields?: LogFields): void {
    this.event('warn', msg, fields, true);
  }

  info(msg: string, fields?: LogFields): void {
    this.event('info', msg, fields, true);
  }

  debug(msg: string, fields?: LogFields): void {
    this.event('debug', msg, fields, true);
  }

  /**
   * A row of a table under the event logged before it (a class of the summary, a problem of a
   * refused reload): in text written as it is, without the `sluice: ` tag, so that columns line up;
   * in json an event of its own.
   */
  row(level: LogLevel, text: string, fields?: LogFields): void {
    this.event(level, text, fields, false);
  }

  private event(level: LogLevel, msg: string, fields: LogFields | undefined, tagged: boolean): void {
    if (!this.enabled(level)) return;
    const toErr = level === 'error' || level === 'warn';
    const prefix = (toErr ? this.journal.err : this.journal.out) ? PRIORITY[level] : '';
    const write = toErr ? this.streams.err : this.streams.out;
    if (this.format === 'json') {
      const body = tagged ? msg : msg.trim().replace(/ {2,}/g, ' ');
      write(`${prefix}${JSON.stringify({ time: this.now().toISOString(), level, msg: body, ...fields })}\n`);
      return;
    }
    // A message of several lines (a tool's error output) stays one event: its later lines are
    // indented, each written whole with its own prefix, since journald reads every line alone.
    const lines = msg.split('\n');
    const tag = !tagged ? '' : level === 'warn' ? 'sluice: warning: ' : 'sluice: ';
    write(`${prefix}${tag}${lines[0]}\n`);
    for (let i = 1; i < lines.length; i++) write(`${prefix}  ${lines[i]}\n`);
  }
}
