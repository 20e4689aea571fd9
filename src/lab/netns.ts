/**
 * A small typed layer over `ip` and `ethtool` for the lab: network namespaces, veth pairs created
 * directly inside their namespaces (so the host's own namespace never sees a lab interface and names
 * cannot collide there), addresses, links, routes, per-namespace sysctls and offloads.
 *
 * Each function is one tool invocation with an argument array; a failure throws a one-line
 * LabCommandError (see exec.ts). Names are checked here before they reach a tool.
 */
import { LabCommandError, run, runSync } from './exec.js';

/** Interface names are limited by the kernel to IFNAMSIZ - 1 = 15 bytes. */
export const MAX_IFNAME_CHARS = 15;

const IFNAME_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const NETNS_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const SYSCTL_RE = /^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/;

export function checkIfName(dev: string): void {
  if (!IFNAME_RE.test(dev)) {
    throw new Error(`interface name "${dev}" is not usable: 1 to ${MAX_IFNAME_CHARS} letters, digits, '_', '.' or '-'`);
  }
}

export function checkNetnsName(ns: string): void {
  if (!NETNS_RE.test(ns) || ns === '.' || ns === '..') {
    throw new Error(`network namespace name "${ns}" is not usable: 1 to 64 letters, digits, '_', '.' or '-'`);
  }
}

/** `ip -n NS ...`: an ip command run against the namespace NS. */
function ipIn(ns: string, args: readonly string[]): string[] {
  checkNetnsName(ns);
  return ['ip', '-n', ns, ...args];
}

/** Wraps argv so that it runs inside the namespace: `ip netns exec NS argv...`. */
export function inNetns(ns: string, argv: readonly string[]): string[] {
  checkNetnsName(ns);
  if (argv.length === 0) throw new Error('a command to run inside a namespace needs at least a program name');
  return ['ip', 'netns', 'exec', ns, ...argv];
}

export async function addNetns(ns: string): Promise<void> {
  checkNetnsName(ns);
  await run(['ip', 'netns', 'add', ns]);
}

/** Deletes the namespace (its veth ends and their peers go with it). Absent namespaces are not an error. */
export async function deleteNetns(ns: string): Promise<void> {
  checkNetnsName(ns);
  try {
    await run(['ip', 'netns', 'delete', ns]);
  } catch (e) {
    if (e instanceof LabCommandError && !(await listNetns()).includes(ns)) return;
    throw e;
  }
}

/** The synchronous delete used from the process 'exit' hook; returns whether it is gone. */
export function deleteNetnsSync(ns: string): boolean {
  checkNetnsName(ns);
  runSync(['ip', 'netns', 'delete', ns]);
  return !parseNetnsList(runSync(['ip', 'netns', 'list']).stdout).includes(ns);
}

/** `ip netns list` prints "NAME" or "NAME (id: N)" per line. */
export function parseNetnsList(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0])
    .filter((name) => name !== undefined && name !== '');
}

export async function listNetns(): Promise<string[]> {
  return parseNetnsList((await run(['ip', 'netns', 'list'])).stdout);
}

/** Process ids of every process whose network namespace is NS (`ip netns pids`). */
export async function netnsPids(ns: string): Promise<number[]> {
  checkNetnsName(ns);
  const r = await run(['ip', 'netns', 'pids', ns], { check: false });
  return parsePids(r.stdout);
}

export function netnsPidsSync(ns: string): number[] {
  checkNetnsName(ns);
  return parsePids(runSync(['ip', 'netns', 'pids', ns]).stdout);
}

function parsePids(stdout: string): number[] {
  return stdout
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

/** Creates a veth pair with one end `devA` in `nsA` and the other end `devB` in `nsB`. */
export async function addVethPair(nsA: string, devA: string, nsB: string, devB: string, mtu?: number): Promise<void> {
  checkIfName(devA);
  checkIfName(devB);
  checkNetnsName(nsB);
  const mtuArgs = mtu === undefined ? [] : ['mtu', String(mtu)];
  await run(ipIn(nsA, ['link', 'add', devA, ...mtuArgs, 'type', 'veth', 'peer', 'name', devB, ...mtuArgs, 'netns', nsB]));
}

/**
 * Adds an IPv4 or IPv6 address in CIDR form ("10.0.0.1/24", "fd00::1/64"). IPv6 addresses get
 * `nodad` so they are usable at once instead of after duplicate address detection.
 */
export async function addAddress(ns: string, dev: string, cidr: string): Promise<void> {
  checkIfName(dev);
  const v6 = cidr.includes(':');
  await run(ipIn(ns, [...(v6 ? ['-6'] : []), 'addr', 'add', cidr, 'dev', dev, ...(v6 ? ['nodad'] : [])]));
}

export async function setLinkUp(ns: string, dev: string): Promise<void> {
  checkIfName(dev);
  await run(ipIn(ns, ['link', 'set', 'dev', dev, 'up']));
}

/** Adds a route to `dest` ("default", "10.1.0.0/24", "fd00:1::/64") through the gateway `via`. */
async function addRoute(ns: string, dest: string, via: string, dev?: string): Promise<void> {
  if (dev !== undefined) checkIfName(dev);
  const v6 = via.includes(':');
  await run(ipIn(ns, [v6 ? '-6' : '-4', 'route', 'add', dest, 'via', via, ...(dev === undefined ? [] : ['dev', dev])]));
}

export function addDefaultRoute(ns: string, via: string, dev?: string): Promise<void> {
  return addRoute(ns, 'default', via, dev);
}

/**
 * Sets a sysctl inside the namespace ("net.ipv4.ip_forward", "1"). Network sysctls are per namespace
 * and /proc/sys shows those of the reading process, so the value is written by `sysctl` run there.
 */
export async function setSysctl(ns: string, key: string, value: string): Promise<void> {
  if (!SYSCTL_RE.test(key)) throw new Error(`sysctl key "${key}" is not usable: dotted words such as net.ipv4.ip_forward`);
  if (!/^[A-Za-z0-9 _.:-]*$/.test(value)) throw new Error(`sysctl value "${value}" for ${key} is not usable`);
  await run(inNetns(ns, ['sysctl', '-q', '-w', `${key}=${value}`]));
}

/**
 * The offloads turned off on every lab veth, so that TCP and UDP leave as MTU-sized packets (as on a
 * real wire) rather than as 64 KB GSO super-packets, and nothing is merged back on receive.
 */
export const OFFLOADS_OFF = ['tso', 'gso', 'gro', 'tx-udp-segmentation', 'tx-gso-list', 'rx-gro-list', 'rx-udp-gro-forwarding'];

export async function disableOffloads(ns: string, dev: string): Promise<void> {
  checkIfName(dev);
  await run(inNetns(ns, ['ethtool', '-K', dev, ...OFFLOADS_OFF.flatMap((f) => [f, 'off'])]));
}

/** `ethtool -k` parsed into feature → on/off (the "[fixed]" marks dropped). */
export async function offloadState(ns: string, dev: string): Promise<Map<string, boolean>> {
  checkIfName(dev);
  const out = (await run(inNetns(ns, ['ethtool', '-k', dev]))).stdout;
  const state = new Map<string, boolean>();
  for (const line of out.split('\n')) {
    const m = /^\s*([a-z0-9_-]+):\s+(on|off)\b/.exec(line);
    if (m) state.set(m[1], m[2] === 'on');
  }
  return state;
}
