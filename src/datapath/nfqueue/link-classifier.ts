/**
 * The NFQUEUE datapath's packet classifier for sluice's firewall layout (firewall/plan.ts): from the
 * hook a packet was queued at and its interface indexes, which configured link and direction it
 * belongs to.
 *   POSTROUTING (NF_INET_POST_ROUTING) with outdev = a link's interface  → that link, egress
 *   INPUT or FORWARD (NF_INET_LOCAL_IN, NF_INET_FORWARD) with indev = it → that link, ingress
 * Anything else, or a direction the link does not shape, is null: the datapath accepts it unshaped.
 * Interface names become indexes once, at start (/sys/class/net/NAME/ifindex); per packet the
 * classifier scans a small typed array and returns one of its preallocated places.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { FirewallLink } from '../firewall/types.js';
import { Direction } from '../types.js';
import { NF_INET_FORWARD, NF_INET_LOCAL_IN, NF_INET_POST_ROUTING } from './constants.js';
import type { PacketClassifier, PacketPlace } from './datapath-options.js';


/** The interface's index in this network namespace; throws one line when it does not exist. */
export function readIfindex(name: string): number {
  let text: string;
  try {
    text = readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8');
  } catch {
    throw new Error(`interface ${name} does not exist in this network namespace (see \`ip link\`)`);
  }
  const index = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(index) || index <= 0) throw new Error(`interface ${name}: unreadable ifindex "${text.trim()}"`);
  return index;
}

/**
 * Every interface's name by its index in this network namespace (a sparse array), for the iif and
 * oif rule attributes. Interfaces that come and go (a VPN's tun) are seen at the next call.
 */
export function interfaceNamesByIndex(): string[] {
  const names: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/sys/class/net');
  } catch {
    return names;
  }
  for (const name of entries) {
    try {
      names[readIfindex(name)] = name;
    } catch {
      // Gone between the listing and the read.
    }
  }
  return names;
}

/**
 * The classifier for `links` — in configuration order, so a link's index is the engine's link
 * number — given each interface's index (readIfindex by default).
 */
export function linkClassifier(links: readonly FirewallLink[], ifindexOf: (name: string) => number = readIfindex): PacketClassifier {
  const n = links.length;
  const ifindex = new Int32Array(n);
  const egress: (PacketPlace | null)[] = [];
  const ingress: (PacketPlace | null)[] = [];
  for (let i = 0; i < n; i++) {
    ifindex[i] = ifindexOf(links[i].interface);
    egress.push(links[i].egress ? { link: i, direction: Direction.EGRESS } : null);
    ingress.push(links[i].ingress ? { link: i, direction: Direction.INGRESS } : null);
  }
  const find = (dev: number): number => {
    if (dev === 0) return -1;
    for (let i = 0; i < n; i++) if (ifindex[i] === dev) return i;
    return -1;
  };
  return (hook, indev, outdev) => {
    if (hook === NF_INET_POST_ROUTING) {
      const i = find(outdev);
      return i < 0 ? null : egress[i];
    }
    if (hook === NF_INET_LOCAL_IN || hook === NF_INET_FORWARD) {
      const i = find(indev);
      return i < 0 ? null : ingress[i];
    }
    return null;
  };
}
