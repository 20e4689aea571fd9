/**
 * The firewall manager's one error type, and the translation of a failed iptables run into one line
 * a person can act on: what to install, that root is needed, or which kernel feature is missing.
 * The patterns are what iptables 1.8 (nf_tables and legacy) and `ip netns exec` print. The exit
 * status the CLI uses (2) is the caller's business; `code` tells it which case this is.
 */

export type FirewallErrorCode =
  /** A binary (iptables, ip6tables, ip) is missing. */
  | 'not-installed'
  /** Not root / no CAP_NET_ADMIN. */
  | 'not-root'
  /** The kernel lacks something the rules need (NFQUEUE target, a match, the mangle table, IPv6). */
  | 'kernel-feature'
  /** The description cannot be turned into rules (a bad interface name, port, address...). */
  | 'invalid'
  /** Anything else iptables reported. */
  | 'failed';

export class FirewallError extends Error {
  readonly code: FirewallErrorCode;
  constructor(code: FirewallErrorCode, message: string) {
    super(message);
    this.name = 'FirewallError';
    this.code = code;
  }
}

/** What a spawned command returned. spawnError is the errno name when it could not start (ENOENT). */
export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  spawnError: string | null;
}

/** The package that provides each binary the manager runs. */
const PACKAGE_OF: Record<string, string> = {
  iptables: 'iptables',
  ip6tables: 'iptables',
  'iptables-restore': 'iptables',
  'ip6tables-restore': 'iptables',
  ip: 'iproute2',
};

function notInstalled(binary: string): FirewallError {
  const name = binary.replace(/-restore$/, '');
  const pkg = PACKAGE_OF[binary] ?? name;
  return new FirewallError('not-installed', `${name} is not installed: apt-get install ${pkg}`);
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0 && !l.startsWith('Try `')) ?? ''
  );
}

/**
 * Turn a failed run into a FirewallError. `binary` is the program sluice meant to run (iptables,
 * ip6tables-restore...), `file` the one actually spawned (the same, or `ip` for `ip netns exec`),
 * and `script` the iptables-restore input, used to name the rule a restore failed on.
 */
export function describeFailure(binary: string, file: string, result: CommandResult, script?: string): FirewallError {
  if (result.spawnError === 'ENOENT') return notInstalled(file);
  const err = result.stderr;
  const exec = /exec of "([^"]+)" failed: No such file or directory/.exec(err);
  if (exec) return notInstalled(exec[1]);
  if (/you must be root|Permission denied|Operation not permitted/i.test(err) || result.spawnError === 'EPERM') {
    return new FirewallError('not-root', 'managing firewall rules needs root (CAP_NET_ADMIN)');
  }
  const netns = /Cannot open network namespace "([^"]+)"/.exec(err);
  if (netns) return new FirewallError('failed', `network namespace ${netns[1]} does not exist`);
  const tool = binary.replace(/-restore$/, '');
  if (/Address family not supported/i.test(err)) {
    return new FirewallError('kernel-feature', `${tool} cannot run: this kernel has IPv6 (or this family) disabled`);
  }
  if (/can't initialize \S+ table `mangle'|Table does not exist/i.test(err)) {
    return new FirewallError('kernel-feature', `this kernel has no ${tool} mangle table (it needs CONFIG_IP_NF_MANGLE or nf_tables with xt compat)`);
  }
  const ext = /Couldn't load (target|match) `([^']+)'/.exec(err);
  const failedLine = failingScriptLine(err, script);
  const missing = ext ? ext[2] : /No such file or directory|not supported/i.test(err) && failedLine ? extensionOf(failedLine) : null;
  if (missing === 'NFQUEUE') {
    return new FirewallError('kernel-feature', 'this kernel has no NFQUEUE target for iptables (it needs CONFIG_NETFILTER_XT_TARGET_NFQUEUE: modprobe xt_NFQUEUE)');
  }
  if (missing) {
    return new FirewallError('kernel-feature', `this kernel has no iptables ${missing} extension (modprobe xt_${missing})`);
  }
  const where = failedLine ? ` at rule "${failedLine}"` : '';
  const status = result.exitCode === null ? 'killed' : `exit ${result.exitCode}`;
  return new FirewallError('failed', `${binary} failed (${status})${where}: ${firstLine(err) || 'no message'}`);
}

/** The restore script line named by "line N" / "Error occurred at line: N" in iptables-restore's output. */
function failingScriptLine(stderr: string, script: string | undefined): string | null {
  if (!script) return null;
  const m = /(?:Error occurred at line: |line )(\d+)/.exec(stderr);
  if (!m) return null;
  return script.split('\n')[Number(m[1]) - 1] ?? null;
}

/**
 * The extension a failing rule most likely lacks: the target when it is NFQUEUE (the comment and
 * mark matches precede it on earlier rules, which went through), else the first `-m` match.
 */
function extensionOf(line: string): string | null {
  if (/-j NFQUEUE\b/.test(line)) return 'NFQUEUE';
  const m = /-m (\S+)/.exec(line);
  return m ? m[1] : null;
}
