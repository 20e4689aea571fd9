/**
 * The `sluice` command line: simulate, check, explain, run, cleanup, demo, --version. bin/sluice.js calls runCli with the
 * arguments and exits with the code it returns. Expected failures (missing file, bad configuration
 * or scenario) print one line each to stderr and return 1, without a stack trace. No top-level side
 * effects: importing this module does nothing.
 */
import { Command, CommanderError } from 'commander';
import { checkCommand } from './check.js';
import { cleanupCommand } from './cleanup.js';
import { demoCommand } from './demo.js';
import { explainCommand, explainFlowCommand } from './explain.js';
import { simulatedDemoCommand } from './simulated-demo.js';
import { CliFailure, processIo, type Io } from './io.js';
import { runCommand } from './run.js';
import { simulateCommand } from './simulate.js';
import { reloadCommand, setLinkCommand, statusCommand, stopCommand } from './daemon.js';
import { flowsCommand } from './flows.js';
import { topCommand } from './top.js';
import { DEFAULT_LOG_FILE, DEFAULT_PID_FILE, startCommand } from './start.js';
import { sluiceVersion } from './version.js';
import { socketPath } from '../control/api/protocol.js';
import { configPath } from '../control/load.js';

const CONFIG_HELP = 'configuration file (YAML; default $SLUICE_CONFIG, else /etc/sluice/sluice.yaml)';

const EXAMPLES = `
Examples:
  sluice check -c examples/home.yaml                 validate a file and print its class tree
  sluice simulate examples/home.yaml examples/home-bulk-vs-interactive.scenario.yaml
  sluice explain -c home.yaml tcp 192.168.1.10:51000 -> 1.2.3.4:443 user=fred cmd=curl
  sudo sluice run -c /etc/sluice/sluice.yaml -v      shape in the foreground (start: in the background)
  sudo sluice status                                 what each class does now
  sudo sluice flows 'user == "fred" and l7 == "tls"' live flows, filtered with the rule language
  sudo sluice set link wan egress 15mbit             a link's rate at run time
  sudo sluice demo                                   the lab demo (root; --simulate without)

Exit status: 0 ok, 1 a check failed (a bad file, a refused reload), 2 usage or environment error
(not root, no daemon running, a missing tool).`;

/** Examples under each subcommand's --help: the command, and what it does. */
const SUBCOMMAND_EXAMPLES: Record<string, [string, string][]> = {
  simulate: [
    ['sluice simulate examples/home.yaml examples/home-bulk-vs-interactive.scenario.yaml', 'what each class gets, on virtual time'],
    ['sluice simulate home.yaml busy.scenario.yaml --json > report.json', 'the report for scripts'],
  ],
  check: [
    ['sluice check -c /etc/sluice/sluice.yaml', 'every problem with file:line:col, or the class tree as it will be built'],
    ['SLUICE_CONFIG=home.yaml sluice check', 'the file named by the environment'],
  ],
  explain: [
    ['sluice explain -c home.yaml tcp 192.168.1.10:51000 -> 1.2.3.4:443 syn', 'which class a connection\'s first packet lands in'],
    ['sluice explain -c home.yaml udp 10.0.0.2:5000 -> 8.8.8.8:53 user=fred cmd=dig cc=US', 'with the facts sluice would learn'],
    ['sudo sluice explain --flow 1234', 'why a live flow of the running daemon is in its class (ids: sluice flows)'],
  ],
  run: [
    ['sudo sluice run -c /etc/sluice/sluice.yaml', 'shape in the foreground until SIGINT/SIGTERM (a second one forces the exit)'],
    ['sudo sluice run -v', 'also a summary per class every 5 seconds'],
    ['sudo sluice run -q --socket /tmp/sluice.sock', 'warnings and errors only; the control API elsewhere'],
  ],
  start: [
    ['sudo sluice start -c /etc/sluice/sluice.yaml', 'in the background; returns once it shapes (log: /var/log/sluice.log)'],
    ['sudo sluice start --log /tmp/sluice.log --pid-file /tmp/sluice.pid -v', 'its output and PID elsewhere, with summaries'],
  ],
  status: [
    ['sudo sluice status', 'the class trees: rates, what each class sends now, backlog, drops, delay'],
    ['sudo sluice status --json | jq \'.snapshot.classes[] | {path, currentBps}\'', 'for scripts'],
  ],
  flows: [
    ['sudo sluice flows', 'every live flow, busiest first'],
    ['sudo sluice flows \'user == "fred" and rport == 443\' --sort bytes', 'fred\'s HTTPS connections, by bytes'],
    ['sudo sluice netstat \'l7 == "bittorrent"\' --json', 'as JSON'],
  ],
  link: [
    ['sudo sluice set link wan egress 15mbit', 'the uplink is 15 Mbit/s now (until sluice restarts)'],
    ['sudo sluice set link eth0 ingress 80mbit', 'by interface name'],
  ],
  top: [
    ['sudo sluice top', 'live classes and flows; q quits'],
    ['sudo sluice top --count 3 --interval 2 > top.txt', 'three plain frames two seconds apart'],
  ],
  reload: [['sudo sluice reload', 'read the file again (the same as SIGHUP, but says whether it took)']],
  stop: [['sudo sluice stop', 'rules out first, then every held packet released; returns once it is done']],
  version: [['sluice version', 'the version, as --version prints it']],
  cleanup: [
    ['sudo sluice cleanup', 'remove the rules a killed sluice left behind'],
    ['sudo sluice cleanup --force', 'even while a process holds the queue they feed'],
  ],
  demo: [
    ['sudo sluice demo', 'a lab of namespaces, about 30 s, and what each class got'],
    ['sluice demo --simulate', 'the simulator\'s demos, without root'],
  ],
};

/** Adds each subcommand's examples (and those of its subcommands) to its --help. */
function addExamples(cmd: Command): void {
  for (const sub of cmd.commands) {
    const examples = SUBCOMMAND_EXAMPLES[sub.name()];
    if (examples !== undefined) {
      const width = Math.max(...examples.map(([c]) => c.length));
      sub.addHelpText('after', `\nExamples:\n${examples.map(([c, what]) => `  ${c.padEnd(width)}  ${what}`).join('\n')}`);
    }
    addExamples(sub);
  }
}

function program(io: Io, setCode: (code: number) => void): Command {
  const cmd = new Command('sluice')
    .description('A traffic shaper that shapes in user space: class trees, fair queues, CoDel.')
    .version(sluiceVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError(false)
    .addHelpText('after', EXAMPLES);
  cmd.command('simulate')
    .description('run a scenario\'s traffic through the shaper on virtual time and report what it does')
    .argument('<config>', 'configuration file (YAML)')
    .argument('<scenario>', 'scenario file (YAML)')
    .option('--json', 'print the report as JSON')
    .action((config: string, scenario: string, opts: { json?: boolean }) => {
      setCode(simulateCommand(config, scenario, opts.json === true, io));
    });
  cmd.command('check')
    .description('validate a configuration and show the class tree it makes')
    .option('-c, --config <file>', CONFIG_HELP)
    .action(async (opts: { config?: string }) => {
      setCode(await checkCommand(configPath(opts.config), io));
    });
  cmd.command('explain')
    .description('show which class a described packet or flow lands in, and which parts of each rule held, e.g. `explain -c FILE tcp 192.168.1.10:51000 -> 1.2.3.4:443 syn`; `explain --flow ID` explains a live flow of the running daemon (ids: `sluice flows`)')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--flow <id>', 'a live flow of the running daemon, against the configuration it runs')
    .option('--socket <path>', 'control socket, with --flow (default $SLUICE_SOCKET or /run/sluice/sluice.sock)')
    .argument('[flow...]', 'PROTO SRC[:PORT] -> DST[:PORT] [egress|ingress] [link NAME] [syn ack fin rst …] [length=N dscp=N …]')
    .allowUnknownOption() // `->` is a word of the description, not an option
    .action(async (flow: string[], opts: { config?: string; flow?: string; socket?: string }) => {
      const usage = (line: string): void => {
        io.err(`sluice: explain: ${line}\n`);
        setCode(2);
      };
      if (opts.flow === undefined) {
        if (flow.length === 0) return usage('describe a packet (e.g. tcp 192.168.1.10:51000 -> 1.2.3.4:443) or give --flow ID');
        return setCode(explainCommand(configPath(opts.config), flow, io));
      }
      if (flow.length > 0 || opts.config !== undefined) return usage('--flow explains a live flow against the running configuration: give it without a described packet or -c');
      if (!/^\d+$/.test(opts.flow) || !Number.isSafeInteger(Number(opts.flow))) return usage(`--flow ${opts.flow}: expected a flow id, a whole number (\`sluice flows\` lists them)`);
      setCode(await explainFlowCommand(socketPath(opts.socket), Number(opts.flow), io));
    });
  cmd.command('run')
    .description('shape real traffic in the foreground (root): bind the queue, install the rules, run until SIGINT/SIGTERM; SIGHUP reloads the file')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('-v, --verbose', 'log at debug level: a summary per class every 5 seconds (over log.level in the file)')
    .option('-q, --quiet', 'log only warnings and errors (over log.level in the file)')
    .option('--socket <path>', 'control socket (default $SLUICE_SOCKET or /run/sluice/sluice.sock)')
    .option('--pid-file <path>', 'write the process id here while shaping')
    .action(async (opts: { config?: string; verbose?: boolean; quiet?: boolean; socket?: string; pidFile?: string }) => {
      setCode(await runCommand(configPath(opts.config), io, { verbose: opts.verbose === true, quiet: opts.quiet === true, socket: socketPath(opts.socket), pidFile: opts.pidFile }));
    });
  cmd.command('start')
    .description('start sluice in the background (root); returns once it shapes, or says why it could not')
    .option('-c, --config <file>', CONFIG_HELP)
    .option('--socket <path>', 'control socket (default $SLUICE_SOCKET or /run/sluice/sluice.sock)')
    .option('--pid-file <path>', 'its process id while it runs', DEFAULT_PID_FILE)
    .option('--log <file>', 'what it prints goes here', DEFAULT_LOG_FILE)
    .option('-v, --verbose', 'it logs at debug level: a summary per class every 5 seconds')
    .option('-q, --quiet', 'it logs only warnings and errors')
    .action(async (opts: { config?: string; socket?: string; pidFile: string; log: string; verbose?: boolean; quiet?: boolean }) => {
      setCode(await startCommand({
        config: configPath(opts.config), socket: socketPath(opts.socket), pidFile: opts.pidFile, log: opts.log, verbose: opts.verbose === true, quiet: opts.quiet === true,
      }, io));
    });
  cmd.command('status')
    .description('the running daemon\'s class tree: rates, what each class sends now, backlog, drops, delay; the queue\'s health')
    .option('--json', 'print the daemon\'s reply as JSON')
    .option('--socket <path>', 'control socket (default $SLUICE_SOCKET or /run/sluice/sluice.sock)')
    .action(async (opts: { json?: boolean; socket?: string }) => {
      setCode(await statusCommand(socketPath(opts.socket), opts.json === true, io));
    });
  cmd.command('flows')
    .alias('netstat')
    .description('the running daemon\'s live flows: class, user, program, country, application, rate each way; e.g. `flows \'user == "fred"\'`')
    .argument('[rule]', 'show only flows this rule holds for (the rule language of match:)')
    .option('--sort <key>', 'rate or bytes', 'rate')
    .option('--json', 'print the flows as JSON')
    .option('--socket <path>', 'control socket (default $SLUICE_SOCKET or /run/sluice/sluice.sock)')
    .action(async (rule: string | undefined, opts: { sort: string; json?: boolean; socket?: string }) => {
      if (opts.sort !== 'rate' && opts.sort !== 'bytes') {
        io.err(`sluice: --sort ${opts.sort}: expected rate or bytes\n`);
        return setCode(2);
      }
      setCode(await flowsCommand(socketPath(opts.socket), rule, opts.sort, opts.json === true, io));
    });
  cmd.command('set')
    .description('change the running daemon at run time')
    .command('link')
    .description('set a link direction\'s rate, e.g. `set link wan egress 15mbit` (kept until sluice restarts)')
    .argument('<link>', 'link name or interface')
    .argument('<direction>', 'egress or ingress')
    .argument('<rate>', 'e.g. 15mbit')
    .option('--socket <path>', 'control socket (default $SLUICE_SOCKET or /run/sluice/sluice.sock)')
    .action(async (link: string, direction: string, rate: string, opts: { socket?: string }) => {
      setCode(await setLinkCommand(socketPath(opts.socket), link, direction, rate, io));
    });
  cmd.command('top')
    .description('a live view of the running daemon: classes and the heaviest flows, refreshed; q quits (plain frames when not a terminal)')
    .option('--interval <seconds>', 'between refreshes', '1')
    .option('--count <n>', 'frames before exiting (default: until q; 1 when not a terminal)')
    .option('--flows <n>', 'flows shown', '10')
    .option('--socket <path>', 'control socket (default $SLUICE_SOCKET or /run/sluice/sluice.sock)')
    .action(async (opts: { interval: string; count?: string; flows: string; socket?: string }) => {
      const interactive = process.stdout.isTTY === true && process.stdin.isTTY === true && io === processIo;
      const count = opts.count === undefined ? (interactive ? Infinity : 1) : Number(opts.count);
      const intervalMs = Number(opts.interval) * 1000;
      if (!(count >= 1) || !(intervalMs > 0) || !(Number(opts.flows) >= 0)) {
        io.err('sluice: top: --interval, --count and --flows take positive numbers\n');
        return setCode(2);
      }
      setCode(await topCommand({ socket: socketPath(opts.socket), intervalMs, count, flows: Number(opts.flows), interactive, rows: process.stdout.rows ?? 0 }, io));
    });
  cmd.command('reload')
    .description('make the running daemon read its configuration again (a bad file is refused, the running one stays)')
    .option('--socket <path>', 'control socket (default $SLUICE_SOCKET or /run/sluice/sluice.sock)')
    .action(async (opts: { socket?: string }) => {
      setCode(await reloadCommand(socketPath(opts.socket), io));
    });
  cmd.command('stop')
    .description('stop the running daemon in order: rules removed first, then every held packet released')
    .option('--socket <path>', 'control socket (default $SLUICE_SOCKET or /run/sluice/sluice.sock)')
    .action(async (opts: { socket?: string }) => {
      setCode(await stopCommand(socketPath(opts.socket), io));
    });
  cmd.command('version')
    .description('print sluice\'s version')
    .action(() => {
      io.out(`${sluiceVersion()}\n`);
    });
  cmd.command('cleanup')
    .description('remove sluice\'s firewall rules left behind by a crash (root); refuses while a running sluice holds them')
    .option('--force', 'remove them even while a running process holds the queue they feed')
    .action(async (opts: { force?: boolean }) => {
      setCode(await cleanupCommand(io, { force: opts.force === true }));
    });
  cmd.command('demo')
    .description('build a lab of network namespaces, run sluice on its router against competing traffic for about 30 s, and show what each class got (root); --simulate runs the simulator\'s demos instead')
    .option('--simulate', 'simulate the bundled examples (home uplink, seedbox, many hosts) instead; needs no root')
    .action(async (opts: { simulate?: boolean }) => {
      setCode(opts.simulate === true ? simulatedDemoCommand(io) : await demoCommand(io));
    });
  addExamples(cmd);
  return cmd;
}

/** Runs the CLI with the user's arguments (process.argv.slice(2); a full process.argv is accepted too). Returns the exit code. */
export async function runCli(argv: string[], io: Io = processIo): Promise<number> {
  let code = 0;
  const cmd = program(io, (c) => (code = c));
  const full = argv.length > 0 && (argv[0] === process.execPath || /(^|[\\/])node(\.exe)?$/.test(argv[0]));
  try {
    await cmd.parseAsync(argv, { from: full ? 'node' : 'user' });
    return code;
  } catch (err) {
    if (err instanceof CliFailure) {
      for (const line of err.lines) io.err(`sluice: ${line}\n`);
      return 1;
    }
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
}
