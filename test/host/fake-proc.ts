/**
 * A directory laid out like /proc for the index and process-info tests: processes with a status,
 * cmdline, cgroup, exe link and fd links (`socket:[N]`, dangling symlinks, which readlink reads as
 * /proc's are read). Lets the tests add, change and remove processes between two lookups.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeProcess {
  uid: number;
  gid?: number;
  name?: string;
  argv?: string[];
  cgroup?: string;
  exe?: string;
  /** fd number → socket inode. */
  sockets?: Record<number, number>;
}

export class FakeProc {
  readonly root = mkdtempSync(join(tmpdir(), 'sluice-fakeproc-'));

  add(pid: number, p: FakeProcess): void {
    const dir = join(this.root, String(pid));
    this.remove(pid);
    mkdirSync(join(dir, 'fd'), { recursive: true });
    const gid = p.gid ?? p.uid;
    writeFileSync(
      join(dir, 'status'),
      `Name:\t${p.name ?? 'proc'}\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t${p.uid}\t${p.uid}\t${p.uid}\t${p.uid}\nGid:\t${gid}\t${gid}\t${gid}\t${gid}\n`,
    );
    writeFileSync(join(dir, 'cmdline'), p.argv === undefined ? '' : `${p.argv.join('\0')}\0`);
    if (p.cgroup !== undefined) writeFileSync(join(dir, 'cgroup'), `0::${p.cgroup}\n`);
    if (p.exe !== undefined) symlinkSync(p.exe, join(dir, 'exe'));
    for (const [fd, inode] of Object.entries(p.sockets ?? {})) this.openSocket(pid, Number(fd), inode);
    // A non-socket fd, which the index must skip.
    symlinkSync('/dev/null', join(dir, 'fd', '0'));
  }

  openSocket(pid: number, fd: number, inode: number): void {
    symlinkSync(`socket:[${inode}]`, join(this.root, String(pid), 'fd', String(fd)));
  }

  closeFd(pid: number, fd: number): void {
    rmSync(join(this.root, String(pid), 'fd', String(fd)), { force: true });
  }

  remove(pid: number): void {
    rmSync(join(this.root, String(pid)), { recursive: true, force: true });
  }

  destroy(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
