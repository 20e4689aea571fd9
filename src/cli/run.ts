/**
 * `sluice run -c FILE`: shapes real traffic in the foreground. Loads and validates the configuration
 * (problems printed as `sluice check` prints them, exit 1), needs root (exit 2 otherwise), starts the
 * shaping worker (datapath/nfqueue/worker/), which binds the NFQUEUE queue and runs the hot path in
 * its own thread, then installs sluice's iptables rules (unless `datapath.firewall: none`), with each
 * `datapath.exempt` rule as RETURN rules (control/exempt.ts), and logs one line saying what it
 * installed. It logs through control/log.ts (levels; text or json; syslog priorities under
 * journald): -v or `log.level: debug` adds a summary per class every few seconds from the worker's
 * counters, -q keeps only warnings and errors.
 * SIGHUP reloads the file (queued packets keep their place; a bad file is refused and the running
 * configuration stays; a changed `log:` section applies). SIGINT or SIGTERM removes the rules first
 * (no new packets reach the queue), then stops the worker, which closes the queue (every held packet
 * gets its verdict); exit 0, within a fraction of a second under load (test/e2e/shutdown.test.ts).
 * An unexpected error, in this thread or the worker, also removes the rules before it propagates.
 *
 * What a crash (SIGKILL, an abort, a power loss) or a forced stop (a second SIGINT/SIGTERM while
 * stopping: exit 128 + the signal's number at once) loses: the packets held at that moment — the
 * kernel drops them when the queue's socket closes, and TCP sends them again. The rules may stay
 * behind; with the default `fail: open` they carry --queue-bypass, so traffic flows unshaped, and the
 * next start (which replaces them) or `sluice cleanup` removes them. With `fail: closed` the queued
 * traffic stops until then. The PID file stays too.
 *
 * Expected failures (no root, a missing interface or iptables, a queue another process holds) print
 * one line and exit 2, without a stack trace.
 */
import { constants } from 'node:os';
import { sdNotify } from '../control/sd-notify.js';
import { journalStreams, Logger, NO_JOURNAL, type JournalStreams } from '../control/log.js';
import { ControlServer } from '../control/api/server.js';
import type { ReloadReply } from '../control/api/protocol.js';
import { sluiceVersion } from './version.js';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { formatProblem } from '../control/errors.js';
import { exemptRulesFrom } from '../control/exempt.js';
import { loadConfig, shaperConfig, withLinkRates, type LinkRates, type RunTimeSettings } from '../control/load.js';
import { activeEntries, type ActiveEntry } from '../control/schedule.js';
import { ScheduleClock } from '../control/schedule-clock.js';
import { checkConfig } from '../control/checks.js';
import type { DirectionName, ResolvedLink } from '../control/resolve.js';
import type { SluiceConfig } from '../control/schema.js';
import { formatRate } from '../control/units.js';
import { IptablesFirewall, planFirewall, type ExemptRule, type FirewallLink, type FirewallPlan } from '../datapath/firewall/index.js';
import { describeHolder, findQueueHolders, queuesOf } from '../datapath/firewall/holders.js';
import { ShaperThread, WorkerStartError } from '../datapath/nfqueue/worker/thread.js';
import { processIo, type Io } from './io.js';
import { printProblems } from './load.js';
import { SummaryPrinter } from './summary.js';

export const EXIT_BAD_CONFIG = 1;
export const EXIT_FAILURE = 2;
export const VERBOSE_AND_QUIET = '-v and -q ask for opposite things: give one of them';
export const NEED_ROOT_TO_RUN = 'sluice run needs root (it binds an NFQUEUE queue and installs iptables rules): run it as root';

/** How often the worker posts counters, and how often -v prints them. */
const COUNTERS_EVERY_MS = 1000;
/** How often the daemon checks that its firewall rules are still in place (firewall managers and container runtimes flush chains). */
const FIREWALL_CHECK_MS = 3000;
const SUMMARY_EVERY_US = 5_000_000;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** An expected failure: one line, exit 2. */
class RunFailure extends Error {}

/** Runs `fn`, turning what it throws into a RunFailure line (prefixed with `what` unless it already names it). */
async function step<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    // A TypeError or ReferenceError is a bug, not something the person can act on: let it through.
    if (err instanceof Error && !(err instanceof TypeError) && !(err instanceof ReferenceError)) throw new RunFailure(err.message.startsWith(`${what}:`) ? err.message : `${what}: ${err.message}`);
    throw err;
  }
}

export interface RunCommandOptions {
  /** Whether the process is root; default process.getuid() === 0 (tests pass false). */
  isRoot?: boolean;
  /** -v: log at debug level, which includes a summary per class every few seconds. */
  verbose?: boolean;
  /** -q: log only warnings and errors. */
  quiet?: boolean;
  /** Which of io's streams are journald's; default: the process's own, found out, when io is processIo. */
  journal?: JournalStreams;
  /** The control API's socket; none when absent (tests of the pieces). */
  socket?: string;
  /** A file to hold the process id while shaping (sluice start passes one); removed on the way out. */
  pidFile?: string;
}

export async function runCommand(file: string, io: Io, opts: RunCommandOptions = {}): Promise<number> {
  if (opts.verbose === true && opts.quiet === true) {
    io.err(`sluice: ${VERBOSE_AND_QUIET}\n`);
    return EXIT_FAILURE;
  }
  if (!existsSync(file)) {
    io.err(`sluice: ${file}: no such configuration file\n`);
    return EXIT_BAD_CONFIG;
  }
  const r = loadConfig(file);
  if (!r.ok) {
    printProblems(io.err, io, file, r.problems);
    return EXIT_BAD_CONFIG;
  }
  // From here on the daemon logs, at the level and in the format the file and the flags ask for.
  const log = new Logger(io, r.config.log, opts, opts.journal ?? (io === processIo ? journalStreams() : NO_JOURNAL));
  // The loader has already checked that every exemption converts.
  const exempt = exemptRulesOf(r.config);
  for (const w of r.warnings) log.warn(formatProblem(w));
  if (!(opts.isRoot ?? process.getuid?.() === 0)) {
    log.error(NEED_ROOT_TO_RUN);
    return EXIT_FAILURE;
  }
  try {
    return await shape(file, r.config, exempt, log, opts.socket ?? null, opts.pidFile ?? null);
  } catch (err) {
    if (err instanceof RunFailure) {
      log.error(err.message);
      return EXIT_FAILURE;
    }
    throw err;
  }
}

/** The firewall exemptions of `datapath.exempt`; throws RuleError (load.ts has already refused such a file). */
function exemptRulesOf(config: SluiceConfig): ExemptRule[] {
  const rules = config.datapath?.exempt ?? [];
  return exemptRulesFrom(rules.map((source, i) => {
    const label = `datapath.exempt[${i}]`;
    return { source, origin: config.ruleOrigins[label] ?? { label, file: config.file } };
  }));
}

/** The settings `sluice run` takes from the datapath section; throws RunFailure for what it cannot do. */
function datapathSettings(config: SluiceConfig): { queueNum: number; failOpen: boolean; firewall: boolean; bypassMark: number | null } {
  const dp = config.datapath ?? {};
  if (dp.kind !== undefined && dp.kind !== 'nfqueue') {
    throw new RunFailure(`datapath.kind: ${dp.kind}: sluice run drives only the nfqueue datapath so far — write kind: nfqueue or leave it out`);
  }
  const queues = dp.queues ?? { first: 0, last: 0 };
  if (queues.first !== queues.last) {
    throw new RunFailure(`datapath.queues: ${queues.first}-${queues.last}: sluice run takes one queue so far — write a single queue number`);
  }
  return { queueNum: queues.first, failOpen: dp.fail !== 'closed', firewall: dp.firewall !== 'none', bypassMark: dp.bypass_mark ?? null };
}

function describeLinks(links: readonly ResolvedLink[]): string {
  return links
    .map((l) => {
      const dirs = [l.egress ? `egress ${formatRate(l.egress.sched.rateBps)}` : '', l.ingress ? `ingress ${formatRate(l.ingress.sched.rateBps)}` : '']
        .filter((d) => d !== '')
        .join(', ');
      return `${l.name} (${l.interface}): ${dirs === '' ? 'not shaped' : dirs}`;
    })
    .join('; ');
}

function describeFirewall(plan: FirewallPlan | null): string {
  if (plan === null) return 'firewall: none (the queueing rules are yours to write)';
  const jumps = plan.ipv4.jumps.map((j) => `${j.chain} ${j.args[0]} ${j.args[1]} → ${j.args[j.args.length - 1]}`);
  return `iptables/ip6tables mangle: ${jumps.join(', ')}`;
}

async function shape(
  file: string, config: SluiceConfig, exempt: readonly ExemptRule[], log: Logger,
  socket: string | null, pidFile: string | null,
): Promise<number> {
  const settings = datapathSettings(config);
  // Swaps of the running configuration (reloads, `set link`, schedule windows) happen one at a time.
  const running: Running = { config, runTime: { linkRates: {}, weekMinute: 0 }, swaps: Promise.resolve() };
  // A window began or ended: the minute is read when the swap's turn comes, in the time zone of
  // the configuration running then (a reload queued before it may have changed it).
  const clock = new ScheduleClock(() => void exclusive(running, () => applySchedule(running, thread, clock, log)).catch((err: unknown) => unexpected(log, 'schedule', err)));
  running.runTime.weekMinute = clock.weekMinute(config);
  const shaper = shaperConfig(config, running.runTime);
  const links = shaper.links;
  const fwLinks: FirewallLink[] = links.map((l) => ({ interface: l.interface, egress: l.egress !== null, ingress: l.ingress !== null }));
  const plan = settings.firewall
    ? await step('firewall', () => planFirewall({
      queues: { first: settings.queueNum, last: settings.queueNum },
      failOpen: settings.failOpen,
      bypassMark: settings.bypassMark,
      links: fwLinks,
      exempt,
    }))
    : null;
  if (plan === null && exempt.length > 0) {
    log.warn('datapath.exempt is not applied with firewall: none: your own queueing rules decide which packets are queued');
  }

  const summary = new SummaryPrinter(log, SUMMARY_EVERY_US);
  let thread: ShaperThread;
  try {
    thread = await ShaperThread.start({
      shaper,
      queueNum: settings.queueNum,
      failOpen: settings.failOpen,
      countersEveryMs: COUNTERS_EVERY_MS,
      onCounters: (s) => summary.offer(s),
    });
  } catch (err) {
    if (err instanceof WorkerStartError) throw new RunFailure(err.message);
    throw err;
  }

  let onStop = (): void => undefined;
  const stopped = new Promise<void>((resolve) => (onStop = resolve));
  // The first signal stops in order; a second one (someone who cannot wait) ends the process at once.
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals === 1) return onStop();
    log.error(forcedStopLine(signal, settings.failOpen, plan !== null));
    process.exit(128 + constants.signals[signal]);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  const onHangup = (): void => void reloadFrom(file, running, thread, clock, log).catch((err: unknown) => unexpected(log, 'reload', err));
  const firewall = plan === null ? null : new IptablesFirewall();
  let installed = false;
  let control: ControlServer | null = null;
  let watchdog: { stop(): Promise<void> } | null = null;
  let shaping = false;
  let stopFailed = false;
  const startedAtMs = Date.now();
  try {
    if (socket !== null) {
      control = await step('control', () => ControlServer.listen(socket, {
        status: () => ({
          version: sluiceVersion(), pid: process.pid, configFile: file, startedAtMs, shaping, snapshot: thread.lastSnapshot,
          schedule: activeEntries(running.config, running.runTime.weekMinute),
        }),
        flows: async () => ({ flows: await thread.flows() }),
        explainFlow: (id) => thread.explainFlow(id),
        reload: () => reloadFrom(file, running, thread, clock, log),
        setLink: (link, direction, rateBps) => setLinkRate(running, thread, log, link, direction, rateBps),
        stop: onStop,
      }));
    }
    if (firewall !== null && plan !== null) {
      await refuseForeignRules(firewall, settings.queueNum, log);
      installed = true; // a failed install may leave part of it: remove() clears whatever is there
      await step('firewall', () => firewall.install(plan));
    }
    process.on('SIGHUP', onHangup);
    log.info(
      `shaping ${describeLinks(links)} | queue ${settings.queueNum}, ${settings.failOpen ? 'fail-open' : 'fail-closed'}, maxlen ${thread.maxlenPackets}, ${thread.workerNice === null ? 'worker at normal priority (setpriority refused)' : `worker nice ${thread.workerNice}`} | ${describeFirewall(plan)}${thread.facts === null ? '' : ` | classifies by ${thread.facts}`}`,
      { queue: settings.queueNum, failOpen: settings.failOpen, maxlenPackets: thread.maxlenPackets, links: links.map((l) => l.name) },
    );
    for (const w of thread.warnings) log.warn(w);
    notify(log, `READY=1\nSTATUS=shaping ${describeLinks(links)}`);
    if (pidFile !== null) writeFileSync(pidFile, `${process.pid}\n`);
    shaping = true;
    if (firewall !== null && plan !== null) watchdog = watchFirewall(firewall, plan, log);
    // What runs by now: the control API may have reloaded the file while the rules went in.
    await exclusive(running, async () => {
      const windows = activeEntries(running.config, running.runTime.weekMinute);
      if (windows.length > 0) log.info(`schedule windows in force: ${windows.map((e) => `${e.classPath} ${e.label}`).join(', ')}`, { windows: windows.map((e) => `${e.classPath} ${e.label}`) });
      clock.watch(running.config, running.runTime.weekMinute);
    });
    // A worker that dies of a bug ends the run as well: its rejection propagates after the cleanup.
    await Promise.race([stopped, thread.done]);
    shaping = false;
    notify(log, 'STOPPING=1');
    log.info('stopping: removing the firewall rules and releasing held packets');
  } finally {
    process.off('SIGHUP', onHangup);
    clock.stop();
    // The control socket takes no new calls from now, but the calls under way are waited for only
    // once the rules are out and the queue is closed: a slow client never holds traffic up.
    const controlClosed = control?.close();
    await watchdog?.stop();
    // The stop handlers stay until the end: a second signal forces the exit (onSignal).
    try {
      if (firewall !== null && installed) {
        await firewall.remove().catch((err: unknown) => {
          stopFailed = true;
          log.error(`removing the firewall rules failed: ${err instanceof Error ? err.message : String(err)} — run \`sluice cleanup\` or remove the SLUICE-* chains of the mangle table by hand (iptables -t mangle -S)`);
        });
      }
    } finally {
      const last = await thread.stop().catch((err: unknown) => {
        stopFailed = true;
        log.error(`closing the queue failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        return thread.lastSnapshot;
      });
      if (last !== null) summary.print(last);
      await controlClosed;
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
      // Last: whoever waits for the PID file to go (a service manager, a test) finds the rules gone too.
      if (pidFile !== null) rmSync(pidFile, { force: true });
    }
  }
  // A stop that could not finish its cleanup must not look clean to a service manager or a script.
  return stopFailed ? EXIT_FAILURE : 0;
}

/** `wan egress 5mbit, lte ingress 20mbit`. */
function describeLinkRates(rates: LinkRates): string {
  return Object.entries(rates).flatMap(([link, r]) => (['egress', 'ingress'] as const).filter((d) => r[d] !== undefined).map((d) => `${link} ${d} ${formatRate(r[d] as number)}`)).join(', ');
}

/** An error nobody waits for (a reload by SIGHUP, a schedule window): a bug, logged in one line rather than lost. */
function unexpected(log: Logger, what: string, err: unknown): void {
  log.error(`${what} failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
}

/**
 * Every FIREWALL_CHECK_MS: are sluice's rules still exactly what it installed? Another program
 * flushing the mangle table (a firewall manager, a container runtime) would silently end shaping,
 * so the rules are put back and the log says what was found. stop() waits for a check under way,
 * so the rules are never reinstalled after they were removed on the way out.
 */
function watchFirewall(firewall: IptablesFirewall, plan: FirewallPlan, log: Logger): { stop(): Promise<void> } {
  let running: Promise<void> = Promise.resolve();
  const check = async (): Promise<void> => {
    try {
      const found = await firewall.verify(plan);
      if (found.intact) return;
      await firewall.install(plan);
      const more = found.problems.length > 1 ? ` and ${found.problems.length - 1} more` : '';
      // Info, not a warning: sluice has mended it (the log says so, for whoever fights over the rules).
      log.info(`the firewall rules had changed (${found.problems[0]}${more}): reinstalled`, { problems: found.problems });
    } catch (err) {
      log.warn(`checking the firewall rules failed: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  const timer = setInterval(() => {
    running = running.then(check);
  }, FIREWALL_CHECK_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}

/**
 * Sluice rules already in the mangle table are either stale (a crash: install() replaces them, and
 * says so here) or another running sluice's, feeding a queue a live process holds: replacing those
 * would silently take its traffic, so that is refused in one line.
 */
async function refuseForeignRules(firewall: IptablesFirewall, ownQueue: number, log: Logger): Promise<void> {
  const found = await step('firewall', () => firewall.detect());
  const families = [found.ipv4, found.ipv6].filter((f) => f !== null);
  const rules = families.flatMap((f) => [...f.rules, ...f.jumps]);
  if (rules.length === 0) return;
  const holders = (await findQueueHolders(queuesOf(rules))).filter((h) => h.queueNum !== ownQueue);
  if (holders.length > 0) {
    throw new RunFailure(`firewall: sluice rules of a running shaper are installed (${holders.map(describeHolder).join('; ')}): stop it first, or run \`sluice cleanup --force\``);
  }
  const chains = families.reduce((n, f) => n + f.chains.length, 0);
  log.info(`replacing sluice rules left by an earlier run (${chains} chain${chains === 1 ? '' : 's'}, ${families.map((f) => f.family).join(' and ')})`);
}

/**
 * SIGHUP: read the file again and hand it to the worker, which swaps it in between two batches with
 * queued packets kept. A file with problems, or one that changes what the firewall was built from,
 * is refused with its reasons and the running configuration stays.
 */
/** What runs now: the loaded configuration, with what is set at run time on top. */
interface Running {
  config: SluiceConfig;
  runTime: RunTimeSettings;
  /** The swap under way, if any: the next waits for it. */
  swaps: Promise<unknown>;
}

/** Runs `swap` once the swaps before it are done (a failed one does not stop the next). */
function exclusive<T>(running: Running, swap: () => Promise<T>): Promise<T> {
  const next = running.swaps.then(swap, swap);
  running.swaps = next.catch(() => undefined);
  return next;
}

/**
 * A schedule window began or ended (ScheduleClock): the running configuration again with the
 * windows in force at `weekMinute`, swapped in like a reload. Each class whose window changed is
 * logged. The windows were checked when the file was loaded, so a refusal here is unexpected.
 */
async function applySchedule(running: Running, thread: ShaperThread, clock: ScheduleClock, log: Logger): Promise<void> {
  const weekMinute = clock.weekMinute(running.config);
  const before = activeEntries(running.config, running.runTime.weekMinute);
  const runTime = { ...running.runTime, weekMinute };
  const refused = await thread.reload(shaperConfig(running.config, runTime));
  if (refused !== null) {
    log.error(`schedule: the windows now in force were refused, still running the previous figures: ${refused.join('; ')}`);
    // Watched from what runs: the clock tries again at its next look (a minute at most).
    clock.watch(running.config, running.runTime.weekMinute);
    return;
  }
  running.runTime = runTime;
  for (const line of scheduleChanges(before, activeEntries(running.config, weekMinute))) log.info(line.text, line.fields);
}

/** What a change of schedule windows did, a line per class whose entry in force changed. */
function scheduleChanges(before: readonly ActiveEntry[], after: readonly ActiveEntry[]): { text: string; fields: Record<string, string | number> }[] {
  const lines: { text: string; fields: Record<string, string | number> }[] = [];
  for (const a of after) {
    if (before.some((b) => b.classPath === a.classPath && b.index === a.index)) continue;
    lines.push({ text: `schedule: ${a.classPath}: window ${a.label} (schedule[${a.index}]) in force`, fields: { class: a.classPath, entry: a.index, window: a.label } });
  }
  for (const b of before) {
    if (after.some((a) => a.classPath === b.classPath)) continue;
    lines.push({ text: `schedule: ${b.classPath}: window ${b.label} ended, back to its own rate and ceil`, fields: { class: b.classPath, window: b.label } });
  }
  return lines;
}

/**
 * `sluice set link NAME DIRECTION RATE`: the running configuration again, with that link's rate
 * changed, swapped in like a reload (queued packets kept, percentages follow the new rate). Kept
 * across reloads of the file until sluice restarts. Refused, with the reason, for an unknown link,
 * a direction the link does not shape, or a rate the classes' own rates no longer fit in.
 */
function setLinkRate(running: Running, thread: ShaperThread, log: Logger, link: string, direction: DirectionName, rateBps: number): Promise<ReloadReply> {
  return exclusive(running, () => setLinkRateNow(running, thread, log, link, direction, rateBps));
}

async function setLinkRateNow(running: Running, thread: ShaperThread, log: Logger, link: string, direction: DirectionName, rateBps: number): Promise<ReloadReply> {
  const target = running.config.links.find((l) => (l.name ?? l.interface) === link || l.interface === link);
  if (target === undefined) return { reloaded: false, lines: [`no link named ${link} (links: ${running.config.links.map((l) => l.name ?? l.interface).join(', ')})`] };
  if (target[direction] === undefined) return { reloaded: false, lines: [`${link} does not shape ${direction}: only the configuration can add a direction (and a restart)`] };
  const key = target.name ?? target.interface;
  const linkRates: LinkRates = { ...running.runTime.linkRates, [key]: { ...running.runTime.linkRates[key], [direction]: rateBps } };
  // Checked in every schedule window, not only the one in force.
  const checked = checkConfig(withLinkRates(running.config, linkRates));
  if (checked.errors.length > 0) return { reloaded: false, lines: checked.errors.map((p) => `${p.path}: ${p.message}`) };
  const runTime = { ...running.runTime, linkRates };
  const refused = await thread.reload(shaperConfig(running.config, runTime));
  if (refused !== null) return { reloaded: false, lines: refused };
  running.runTime = runTime;
  log.info(`${key} ${direction} set to ${formatRate(rateBps)}`, { link: key, direction, rateBps });
  return { reloaded: true };
}

function reloadFrom(file: string, running: Running, thread: ShaperThread, clock: ScheduleClock, log: Logger): Promise<ReloadReply> {
  return exclusive(running, () => reloadNow(file, running, thread, clock, log));
}

async function reloadNow(file: string, running: Running, thread: ShaperThread, clock: ScheduleClock, log: Logger): Promise<ReloadReply> {
  notify(log, 'RELOADING=1');
  try {
    return await reloadOnce(file, running, thread, clock, log);
  } finally {
    notify(log, 'READY=1');
  }
}

/** Tells systemd (Type=notify) where the daemon is; outside systemd it does nothing. */
function notify(log: Logger, state: string): void {
  const failed = sdNotify(state);
  if (failed !== null) log.warn(failed);
}

/** The line a forced stop leaves: what it costs, which depends on whether the rules let traffic pass without sluice. */
function forcedStopLine(signal: NodeJS.Signals, failOpen: boolean, ownRules: boolean): string {
  const rules = !ownRules
    ? 'the queueing rules are yours: with --queue-bypass traffic flows unshaped'
    : failOpen
      ? 'sluice rules still in place carry --queue-bypass, so traffic flows unshaped until the next start or `sluice cleanup` removes them'
      : 'sluice rules still in place have no --queue-bypass (fail: closed), so queued traffic stops until the next start or `sluice cleanup` removes them';
  return `second ${signal} while stopping: exiting at once; the packets held now are lost (TCP sends them again); ${rules}`;
}

async function reloadOnce(file: string, running: Running, thread: ShaperThread, clock: ScheduleClock, log: Logger): Promise<ReloadReply> {
  const r = loadConfig(file);
  if (!r.ok) {
    log.error('reload refused, still running the previous configuration:');
    // The problems as `sluice check` prints them, each line a row of the log.
    const rows: Io = { out: (line) => log.row('error', line.trimEnd()), err: (line) => log.row('error', line.trimEnd()) };
    printProblems(rows.err, rows, file, r.problems);
    return { reloaded: false, lines: r.problems.map(formatProblem) };
  }
  if (JSON.stringify(r.config.datapath ?? {}) !== JSON.stringify(running.config.datapath ?? {})) {
    const line = 'the datapath section (queue, firewall, exemptions) changed — restart sluice for that';
    log.error(`reload refused: ${line}`);
    return { reloaded: false, lines: [line] };
  }
  // The link rates set at run time stay: the new file's classes must fit in them too, in every window.
  const withRates = checkConfig(withLinkRates(r.config, running.runTime.linkRates));
  if (withRates.errors.length > 0) {
    const lines = withRates.errors.map((p) => `${p.path}: ${p.message} (with the link rates set at run time: ${describeLinkRates(running.runTime.linkRates)})`);
    log.error('reload refused, still running the previous configuration:');
    for (const l of lines) log.row('error', l);
    return { reloaded: false, lines };
  }
  // The new file's schedules (and time zone) are read at this minute.
  const runTime = { ...running.runTime, weekMinute: clock.weekMinute(r.config) };
  const refused = await thread.reload(shaperConfig(r.config, runTime));
  if (refused === null) {
    running.config = r.config;
    running.runTime = runTime;
    clock.watch(r.config, runTime.weekMinute);
    log.configure(r.config.log);
    log.info(`reloaded ${file}`);
    return { reloaded: true };
  }
  log.error('reload refused, still running the previous configuration:');
  for (const l of refused) log.row('error', l);
  return { reloaded: false, lines: refused };
}
