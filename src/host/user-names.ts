/**
 * User and group names by number, from /etc/passwd and /etc/group: read once, on first use, and kept
 * (a rule such as `user == "fred"` needs the name of every owner found; reading the files per lookup
 * would cost more than the lookup). reload() rereads them, e.g. on a configuration reload. A number
 * with no entry has the name '' (a process may run as a uid no file names, such as 65533 in a container).
 * A missing or unreadable file counts as empty: names are a convenience, never a reason to fail.
 */
import { readFileSync } from 'node:fs';

function parseIds(path: string): Map<number, string> {
  const names = new Map<number, string>();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return names;
  }
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    // name:password:id:... in both files; the first entry for a number wins, as getpwuid() does.
    const fields = line.split(':');
    if (fields.length < 3) continue;
    const id = Number(fields[2]);
    if (!Number.isInteger(id) || id < 0 || names.has(id)) continue;
    names.set(id, fields[0]);
  }
  return names;
}

export class UserNames {
  private readonly passwdPath: string;
  private readonly groupPath: string;
  private users: Map<number, string> | null = null;
  private groups: Map<number, string> | null = null;

  constructor(passwdPath = '/etc/passwd', groupPath = '/etc/group') {
    this.passwdPath = passwdPath;
    this.groupPath = groupPath;
  }

  /** The login name of `uid`, or '' when /etc/passwd has none. */
  user(uid: number): string {
    if (this.users === null) this.users = parseIds(this.passwdPath);
    return this.users.get(uid) ?? '';
  }

  /** The group name of `gid`, or '' when /etc/group has none. */
  group(gid: number): string {
    if (this.groups === null) this.groups = parseIds(this.groupPath);
    return this.groups.get(gid) ?? '';
  }

  /** Forgets the cached files; the next lookup reads them again. */
  reload(): void {
    this.users = null;
    this.groups = null;
  }
}
