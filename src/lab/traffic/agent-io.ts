/**
 * The traffic agent's side of its protocol with whoever started it: `ready` on stdout once a server
 * listens, exactly one JSON line with the result at the end and exit 0, or one line on stderr and
 * exit 1. Servers live until their lifetime ends or a SIGTERM/SIGINT asks them to stop early; either
 * way they print their result, so the caller can stop a sink as soon as its sender is done.
 */

let finished = false;

/** Tells the caller the server is listening (bound), so a client may start. */
export function announceReady(): void {
  process.stdout.write('ready\n');
}

/** Prints the result line and exits 0 once stdout has taken it. */
export function finish(result: object): void {
  if (finished) return;
  finished = true;
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

/** Prints one line on stderr and exits 1. */
export function fail(message: string): void {
  if (finished) return;
  finished = true;
  process.stderr.write(`${message.replace(/\s*\n\s*/g, ' / ')}\n`, () => process.exit(1));
}

/** Resolves when the server's lifetime is over or on SIGTERM/SIGINT, whichever comes first. */
export function serverLifetime(lifetimeMs: number): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      clearTimeout(timer);
      process.removeListener('SIGTERM', stop);
      process.removeListener('SIGINT', stop);
      resolve();
    };
    const timer = setTimeout(stop, lifetimeMs);
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** One line for an error value: its code and message, no stack. */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
