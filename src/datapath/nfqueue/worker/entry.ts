/**
 * The shaping worker: the hot path of `sluice run`, in a thread of its own so that nothing the main
 * thread does (printing, a dashboard, a stuck handler) delays a packet. It takes the configuration
 * resolved and checked by the main thread (ShaperConfig: it never parses a file), binds the queue,
 * and runs the engine on it with runLoop until the main thread raises the shared stop flag. Every
 * countersEveryMs it posts a CounterSnapshot; a reload message swaps the configuration between two
 * batches, keeping queued packets, or answers why not — a configuration the engine cannot build
 * is refused, and the running one goes on shaping.
 *
 * Start-up failures a person can act on (a missing interface, a queue held by another process) are
 * posted as one `failed` line; anything else is a bug and propagates as the worker's error event.
 * Either way the queue is closed first, so every held packet gets its verdict.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { ResolvedLink } from '../../../control/resolve.js';
import { DEFAULT_OWNER_WAIT_US, Engine } from '../../../engine/engine.js';
import { explainLiveFlow } from '../../../engine/explain-flow.js';
import type { CountryDb } from '../../../classify/geo/country-db.js';
import { HostLookupError } from '../../../host/errors.js';
import { openGeoipFile } from '../../../host/geoip-file.js';
import { HostOwnerSource } from '../../../host/owner-source.js';
import { formatDuration } from '../../../control/units.js';
import { SnapshotBuilder, type CounterSnapshot } from '../../../engine/snapshot.js';
import * as libc from '../../ffi/libc.js';
import { describeErrno } from '../../ffi/errno.js';
import { NfqueueDatapath, monotonicUs } from '../datapath.js';
import { interfaceNamesByIndex, linkClassifier } from '../link-classifier.js';
import { readQueueStats } from '../proc-stats.js';
import { runLoop } from '../run-loop.js';
import type { ControlMessage, WorkerMessage, WorkerSettings } from './messages.js';

/** Packets the kernel may queue beyond what the schedulers hold: one receive batch in flight. */
const QUEUE_HEADROOM_PACKETS = 256;
/**
 * The worker thread's nice value. A shaper that wakes late sends late: on a busy machine a thread at
 * the default priority waited seconds per ten for a CPU and its classes fell short of their rates.
 * -10 lets it preempt ordinary work when a departure is due; it sleeps in ppoll between departures,
 * so it takes no more CPU than before.
 */
const WORKER_NICE = -10;
/**
 * Least time between two full rescans of /proc when a socket's process is not in the owner index.
 * The scan runs in the owner thread, never on the packet path, so it may run at every miss: a
 * long-running program's new connection (a torrent client's next peer) is then found at once
 * instead of coming back 'unknown' until the next allowed rescan.
 */
const OWNER_FULL_SCAN_US = 0;
/** How long start-up waits for the owner thread (its /proc index) before saying it is ready, ms. */
const OWNER_READY_MS = 5000;

if (parentPort === null) throw new Error('worker/entry.ts runs as a worker thread (see worker/thread.ts)');
const port: MessagePort = parentPort;
const settings = workerData as WorkerSettings;
const post = (m: WorkerMessage): void => port.postMessage(m);

/**
 * Owner lookups and the country database, started once the rules read them (also after a reload
 * that begins to). The owner thread is started here so it inherits this thread's network namespace.
 * Returns the problem as a line when the database cannot be read.
 */
class FactSources {
  owners: HostOwnerSource | null = null;
  countries: CountryDb | null = null;
  private geoipPath: string | undefined = undefined;

  /** wakeFd: the eventfd the owner thread writes after each answer, which the datapath's sleep also watches. */
  constructor(private readonly wakeFd: number) {}

  supply(engine: Engine, geoip: string | undefined, ownerWaitUs: number | undefined): string | null {
    const read = engine.factsRead();
    if (read.owner && this.owners === null) this.owners = HostOwnerSource.start({ fullScanIntervalUs: OWNER_FULL_SCAN_US, wakeFd: this.wakeFd });
    if (read.country && (this.countries === null || geoip !== this.geoipPath)) {
      try {
        this.countries = openGeoipFile(geoip);
        this.geoipPath = geoip;
      } catch (err) {
        if (!(err instanceof HostLookupError)) throw err;
        return err.message;
      }
    }
    engine.useSources({ owners: this.owners, countries: this.countries, ownerWaitUs });
    return null;
  }

  /** The start line's words for what the rules classify by beyond the packet, or null. */
  describe(engine: Engine, ownerWaitUs: number | undefined): string | null {
    const read = engine.factsRead();
    const parts: string[] = [];
    if (read.owner) parts.push(`process (owner_wait ${formatDuration(ownerWaitUs ?? DEFAULT_OWNER_WAIT_US)})`);
    if (read.country && this.countries !== null) parts.push(`country (${this.geoipPath ?? 'shipped database'}: ${this.countries.description})`);
    if (read.l7) parts.push('application protocol');
    return parts.length === 0 ? null : parts.join(', ');
  }

  close(): Promise<void> {
    return this.owners?.close() ?? Promise.resolve();
  }
}

/** What the firewall and the link classifier were built from: a reload may not change it. */
function linkShape(links: readonly ResolvedLink[]): string {
  return links.map((l) => `${l.interface}:${l.egress ? 'e' : ''}${l.ingress ? 'i' : ''}`).join(' ');
}

function datapathCounters(dp: NfqueueDatapath): CounterSnapshot['datapath'] {
  const kernel = readQueueStats(dp.queueNum);
  return {
    ...dp.counters,
    held: dp.heldCount,
    failOpen: settings.failOpen ? 1 : 0,
    // The kernel numbers every packet it tries to queue, also those it could not (queue or socket
    // full: passed under fail-open, dropped otherwise); summary.ts works out how many from it.
    kernel: kernel === null ? {} : { queueTotal: kernel.queueTotal, queueDropped: kernel.queueDropped, userDropped: kernel.userDropped, idSequence: kernel.idSequence },
  };
}

async function start(): Promise<void> {
  const loaded = settings.shaper;
  const links = loaded.links;
  const shape = linkShape(links);
  let classify;
  try {
    classify = linkClassifier(links.map((l) => ({ interface: l.interface, egress: l.egress !== null, ingress: l.ingress !== null })));
  } catch (err) {
    post({ type: 'failed', message: `links: ${(err as Error).message}` });
    return;
  }
  let maxlenPackets = QUEUE_HEADROOM_PACKETS;
  for (const l of links) for (const d of [l.egress, l.ingress]) if (d) maxlenPackets += d.sched.globalLimitPackets;
  // Answers of the owner thread wake the loop's sleep at once (the engine then polls them).
  const wakeFd = libc.eventfd(0, libc.EFD_CLOEXEC | libc.EFD_NONBLOCK);
  if (wakeFd < 0) {
    post({ type: 'failed', message: `eventfd: ${describeErrno(wakeFd)}` });
    return;
  }
  let datapath: NfqueueDatapath;
  try {
    datapath = NfqueueDatapath.open({ queueNum: settings.queueNum, maxlenPackets, failOpen: settings.failOpen, classify, wakeFd });
  } catch (err) {
    libc.close(wakeFd);
    if (err instanceof TypeError || err instanceof ReferenceError) throw err;
    const message = (err as Error).message;
    post({ type: 'failed', message: message.startsWith(`queue ${settings.queueNum}:`) ? message : `queue ${settings.queueNum}: ${message}` });
    return;
  }

  const engine = new Engine(links, datapath, { ownerPollUs: Infinity, interfaceNames: interfaceNamesByIndex() });
  const sources = new FactSources(wakeFd);
  const closeAll = (): Promise<void> => {
    datapath.close();
    return sources.close().then(() => void libc.close(wakeFd));
  };
  const sourceProblem = sources.supply(engine, loaded.geoip, loaded.ownerWaitUs);
  if (sourceProblem !== null) {
    void closeAll();
    post({ type: 'failed', message: sourceProblem });
    return;
  }
  // The firewall sends packets only after 'ready': a first connection then finds its owner's index built.
  const warnings: string[] = [];
  if (sources.owners !== null && !(await sources.owners.ready(OWNER_READY_MS))) {
    warnings.push(`owner lookups: ${sources.owners.error ?? `no answer in ${OWNER_READY_MS / 1000} s`}; until they work, rules on processes (user, cmd, ...) match no connection`);
  }
  const snapshots = new SnapshotBuilder(engine);
  const stop = new Int32Array(settings.stopFlag);
  const everyUs = settings.countersEveryMs * 1000;
  let lastCountersUs = monotonicUs();

  port.on('message', (m: ControlMessage) => {
    if (m.type === 'flows') return post({ type: 'flows', flows: snapshots.flowRows(monotonicUs()) });
    if (m.type === 'explain') {
      // Against the engine's own configuration: the one running now, whatever the file says since.
      // A failure is the explainer's, and must not end the shaping: it goes back as the answer.
      try {
        return post({ type: 'explained', explanation: explainLiveFlow(engine, m.id, monotonicUs()) });
      } catch (err) {
        return post({ type: 'explained', explanation: null, error: `explain: ${(err as Error).message.split('\n')[0]}` });
      }
    }
    const next = m.shaper;
    if (linkShape(next.links) !== shape) {
      return post({ type: 'reload-failed', lines: ['links: a reload cannot change interfaces or which directions are shaped: restart sluice for that'] });
    }
    // The main thread checked it; should the engine still refuse it (a bug), nothing has changed
    // and the running configuration goes on shaping: the refusal is the answer, not the thread's end.
    try {
      engine.reload(next.links, monotonicUs());
    } catch (err) {
      return post({ type: 'reload-failed', lines: [`the shaper refused the configuration: ${(err as Error).message.split('\n')[0]}`] });
    }
    const problem = sources.supply(engine, next.geoip, next.ownerWaitUs);
    post(problem === null ? { type: 'reloaded' } : { type: 'reload-failed', lines: [problem] });
  });

  const niced = libc.setThreadNice(WORKER_NICE);
  post({ type: 'ready', maxlenPackets, nice: niced === 0 ? WORKER_NICE : null, facts: sources.describe(engine, loaded.ownerWaitUs), warnings });
  runLoop(engine, datapath, {
    shouldStop: () => Atomics.load(stop, 0) !== 0,
    beforeTurn: (nowUs) => {
      if (nowUs - lastCountersUs < everyUs) return;
      lastCountersUs = nowUs;
      // Interfaces come and go (VPNs, containers): their names for iif/oif are read again.
      engine.useSources({ interfaceNames: interfaceNamesByIndex() });
      post({ type: 'counters', snapshot: snapshots.build(nowUs, datapathCounters(datapath)) });
    },
  }).then(
    () => {
      // The last counters are taken as the loop stopped, before closing releases what is held.
      const last = snapshots.build(monotonicUs(), datapathCounters(datapath));
      const closed = closeAll();
      post({ type: 'stopped', snapshot: last });
      void closed.then(() => port.close());
    },
    (err: unknown) => {
      void closeAll();
      throw err;
    },
  );
}

void start();
