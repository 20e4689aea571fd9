/**
 * The control subsystem's error and problem types. A configuration is judged as a whole: every
 * problem found is collected as a ConfigProblem (file, line, column, config path, message) so the
 * person can fix them all in one go. UnitError is thrown by the unit parsers and caught by the
 * loader, which turns it into a problem at the offending value; ConfigError is thrown by code
 * given a configuration that never went through the loader's checks.
 */

/** One thing wrong with a configuration, pointing at the offending value. Line and column are 1-based (0: no position). */
export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  /** Where in the configuration, e.g. `classes.torrents.ceil` or `links[0].egress`; '' for the whole file. */
  path: string;
  message: string;
}

/** `sluice.yaml:23:11: classes.torrents.ceil: '2.4mbits' is not a rate — write e.g. 2.4mbit` */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return `${where}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`;
}

/** A file that cannot be read, as a problem with no position: `cannot read the scenario: no such file`. */
export function unreadableProblem(file: string, what: string, err: unknown): ConfigProblem {
  const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
  return { file, line: 0, column: 0, path: '', message: `cannot read the ${what}: ${reason}` };
}

export type ControlErrorCode = 'UNIT' | 'CONFIG';

/** A value written by a person that is not a valid rate, size, duration or percentage. */
export class UnitError extends Error {
  readonly code: ControlErrorCode = 'UNIT';
  constructor(message: string) {
    super(message);
    this.name = 'UnitError';
  }
}

/** A configuration that cannot be used; `problems` says every reason. */
export class ConfigError extends Error {
  readonly code: ControlErrorCode = 'CONFIG';
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
