/**
 * Child process for lab.test.ts: builds a pair lab, starts `sleep 60` in the server namespace, prints
 * {"namespaces": [...], "sleepPid": N} as one line, then waits to be killed. With SIGTERM its exit hook
 * must remove the lab; with SIGKILL nothing can run and Lab.cleanupStale must find the leftovers.
 * Its safety net is the bound on the wait: it exits by itself after 20 s.
 */
import { Lab } from '../../src/lab/topology.js';

async function main(): Promise<void> {
  const lab = await Lab.pair({ name: 'crash' });
  const sleeper = lab.spawn('server', ['sleep', '60']);
  await new Promise<void>((resolve, reject) => {
    sleeper.once('spawn', resolve);
    sleeper.once('error', reject);
  });
  process.stdout.write(`${JSON.stringify({ namespaces: lab.namespaces, sleepPid: sleeper.pid })}\n`);
  setTimeout(() => process.exit(3), 20_000);
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
