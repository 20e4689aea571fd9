/**
 * Names of lab namespaces. Each one carries the prefix (default "sl-"), an optional label, the
 * creating process id in base 36 and a random tag, then the host name:
 *     sl-1k2f3-9xq0-client        sl-demo-1k2f3-9xq0-router
 * The owner pid is what lets Lab.cleanupStale tell a namespace left by a crashed run (its owner is
 * gone) from one that a test running in parallel in another process is still using. The random tag
 * keeps two labs of one process apart. Interface names inside the namespaces are short (eth0, eth1)
 * and never collide, since every namespace has its own.
 */
import { randomBytes } from 'node:crypto';

export const DEFAULT_PREFIX = 'sl-';

const WORD_RE = /^[a-z][a-z0-9]{0,11}$/;
const PREFIX_RE = /^[a-z][a-z0-9]{0,7}-$/;

export function checkWord(kind: string, word: string): void {
  if (!WORD_RE.test(word)) {
    throw new Error(`${kind} "${word}" is not usable: a lower-case letter then up to 11 lower-case letters or digits`);
  }
}

export function checkPrefix(prefix: string): void {
  if (!PREFIX_RE.test(prefix)) throw new Error(`namespace prefix "${prefix}" is not usable: like "sl-" (letters or digits, then '-')`);
}

/** The part every namespace of one lab shares: "sl-[label-]PID-TAG". */
export function makeLabId(prefix: string, label: string | undefined, pid: number = process.pid): string {
  checkPrefix(prefix);
  if (label !== undefined) checkWord('lab name', label);
  const tag = randomBytes(3).readUIntBE(0, 3).toString(36).padStart(5, '0').slice(-4);
  return `${prefix}${label === undefined ? '' : `${label}-`}${pid.toString(36)}-${tag}`;
}

export function netnsName(labId: string, host: string): string {
  return `${labId}-${host}`;
}

/** The pid that created a lab namespace, or null when the name does not follow the lab's pattern. */
export function ownerPid(prefix: string, ns: string): number | null {
  if (!ns.startsWith(prefix)) return null;
  const parts = ns.slice(prefix.length).split('-');
  if (parts.length !== 3 && parts.length !== 4) return null;
  const pid = parts[parts.length - 3];
  if (!/^[0-9a-z]{1,8}$/.test(pid)) return null;
  const n = parseInt(pid, 36);
  return n > 0 ? n : null;
}

/** Whether a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
