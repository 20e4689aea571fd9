/**
 * What a process is, read from /proc/PID: the attributes rules match on (uid, gid, user, group, cmd,
 * exe, args, cgroup, unit). Processes exit at any moment, so every read may find the process gone:
 * readProcess() then answers null, never throws. Reads 4 small files per call (status, cmdline,
 * cgroup, the exe link): tens of microseconds, once per new connection, never per packet.
 *
 * - uid, gid: the effective ids (second field of Uid:/Gid: in status), as `ps -o user` shows.
 * - cmd: the base name of argv[0] (so `/usr/bin/python3` and `python3` are both `python3`); the
 *   kernel's short name (status Name:) when argv is empty (kernel threads, zombies).
 * - exe: the resolved executable path; '' when it cannot be read (kernel threads).
 * - argv: the command line; args: argv after argv[0], joined by spaces, for `args ~ "..."`.
 * - cgroup: the cgroup v2 path (the `0::` line of /proc/PID/cgroup); '' without cgroup v2.
 * - unit: the systemd unit: the last component of the cgroup path ending in .service or .scope; ''.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { UserNames } from './user-names.js';

export interface ProcessInfo {
  pid: number;
  uid: number;
  gid: number;
  user: string;
  group: string;
  cmd: string;
  exe: string;
  argv: readonly string[];
  args: string;
  cgroup: string;
  unit: string;
}

/** The systemd unit a cgroup v2 path belongs to (see the header); '' when none. */
export function unitOf(cgroupPath: string): string {
  const parts = cgroupPath.split('/');
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i];
    if (p.endsWith('.service') || p.endsWith('.scope')) return p;
  }
  return '';
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The second (effective) number on the status line starting with `key` ('Uid:'), or -1. */
function statusId(status: string, key: string): number {
  const at = status.indexOf(`\n${key}`);
  if (at < 0) return -1;
  const end = status.indexOf('\n', at + 1);
  const fields = status.slice(at + 1 + key.length, end < 0 ? undefined : end).trim().split(/\s+/);
  const id = Number(fields[1] ?? fields[0]);
  return Number.isInteger(id) ? id : -1;
}

/** The effective uid of `pid`, or -1 when it is gone. One read of /proc/PID/status. */
export function readProcessUid(pid: number, procRoot = '/proc'): number {
  const status = readText(`${procRoot}/${pid}/status`);
  return status === null ? -1 : statusId(status, 'Uid:');
}

/** The process `pid`, or null when it has exited (or never existed). */
export function readProcess(pid: number, names: UserNames, procRoot = '/proc'): ProcessInfo | null {
  const dir = `${procRoot}/${pid}`;
  const status = readText(`${dir}/status`);
  if (status === null) return null;
  const cmdline = readText(`${dir}/cmdline`) ?? '';
  const cgroups = readText(`${dir}/cgroup`) ?? '';
  let exe = '';
  try {
    exe = readlinkSync(`${dir}/exe`);
  } catch {
    // Kernel threads have no executable; a process that just exited has none either.
  }
  const argv = cmdline === '' ? [] : cmdline.replace(/\0$/, '').split('\0');
  let cmd: string;
  if (argv.length > 0 && argv[0] !== '') {
    const slash = argv[0].lastIndexOf('/');
    cmd = slash < 0 ? argv[0] : argv[0].slice(slash + 1);
  } else {
    const name = /^Name:\s*(.*)$/m.exec(status);
    cmd = name === null ? '' : name[1];
  }
  const v2 = /^0::(.*)$/m.exec(cgroups);
  const cgroup = v2 === null ? '' : v2[1];
  const uid = statusId(status, 'Uid:');
  const gid = statusId(status, 'Gid:');
  return {
    pid,
    uid,
    gid,
    user: names.user(uid),
    group: names.group(gid),
    cmd,
    exe,
    argv,
    args: argv.slice(1).join(' '),
    cgroup,
    unit: unitOf(cgroup),
  };
}
