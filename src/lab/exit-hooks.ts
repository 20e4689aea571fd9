/**
 * Removes every live lab when the process ends: on 'exit' (normal end, process.exit, an uncaught
 * error) and on SIGINT, SIGTERM and SIGHUP. The hooks are registered once, on the first lab. Only
 * synchronous work runs in an 'exit' listener, so cleanup here uses each lab's destroySync().
 *
 * A signal handler replaces Node's default "terminate", so after cleaning up, when no other listener
 * is there to decide what happens next, the handler removes itself and raises the signal again: the
 * process still dies of SIGINT/SIGTERM with the usual status.
 */

export interface Destroyable {
  /** The namespaces the lab made (still) owns. */
  readonly namespaces: readonly string[];
  destroySync(): void;
}

const live = new Set<Destroyable>();
let installed = false;

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function destroyAllSync(): void {
  for (const lab of [...live]) {
    try {
      lab.destroySync();
    } catch {
      // Keep cleaning the other labs; there is nobody left to report to while exiting.
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  destroyAllSync();
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

export function track(lab: Destroyable): void {
  live.add(lab);
  if (installed) return;
  installed = true;
  process.on('exit', destroyAllSync);
  for (const s of SIGNALS) process.on(s, onSignal);
}

export function untrack(lab: Destroyable): void {
  live.delete(lab);
}

/** Every namespace owned by a live lab of this process. */
export function liveNamespaces(): Set<string> {
  return new Set([...live].flatMap((lab) => lab.namespaces));
}
