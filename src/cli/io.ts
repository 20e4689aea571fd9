/**
 * Where the CLI writes, and the error it throws for expected failures (a missing file, a bad
 * configuration or scenario): main.ts prints such a failure's lines to stderr, without a stack
 * trace, and exits 1. Tests pass their own Io to capture output in-process.
 */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** A failure the person can act on; `lines` are printed to stderr one per line. */
export class CliFailure extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'CliFailure';
  }
}
