/**
 * Starting a worker thread whose entry module sits beside the caller, from the compiled build (the
 * entry is a .js file next to the caller's) or from the TypeScript sources (tests, a checkout
 * without a build). A worker does not inherit tsx's loader, so from the sources a two-line
 * bootstrap registers tsx in the worker first and then imports the entry.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Starts `./<entryName>.js` (or `.ts` from the sources) relative to the module at `callerUrl` (its import.meta.url). */
export function spawnBesideCaller(callerUrl: string, entryName: string, options: WorkerOptions): Worker {
  if (callerUrl.endsWith('.js')) return new Worker(new URL(`./${entryName}.js`, callerUrl), options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL(`./${entryName}.ts`, callerUrl).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
