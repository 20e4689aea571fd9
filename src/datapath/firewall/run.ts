/**
 * Runs iptables, ip6tables and their -restore forms: execFile with an argument array (no shell, so
 * nothing from the configuration is ever parsed as shell syntax), the restore script on stdin, PATH
 * extended with /usr/sbin and /sbin (where Debian puts iptables; a non-login root shell may lack
 * them). With a network namespace the command becomes `ip netns exec NAME tool args...`, which is
 * how the tests keep every rule out of the machine's own namespace.
 */
import { execFile } from 'node:child_process';
import type { CommandResult } from './errors.js';

/** Runs `file args...` with `stdin` (if any) and resolves with what it returned; never rejects. */
export type CommandRunner = (file: string, args: readonly string[], stdin?: string) => Promise<CommandResult>;

const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function pathWithSbin(path: string | undefined): string {
  const dirs = (path ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter((d) => d.length > 0);
  for (const d of SBIN_DIRS) if (!dirs.includes(d)) dirs.push(d);
  return dirs.join(':');
}

export const execRunner: CommandRunner = (file, args, stdin) =>
  new Promise((resolve) => {
    const env = { ...process.env, PATH: pathWithSbin(process.env.PATH), LC_ALL: 'C' };
    const child = execFile(file, [...args], { env, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: string | number }) | null;
      const spawnError = e && typeof e.code === 'string' ? e.code : null;
      const exitCode = e ? (typeof e.code === 'number' ? e.code : spawnError ? null : (child.exitCode ?? null)) : 0;
      resolve({ exitCode, stdout, stderr, spawnError });
    });
    child.stdin?.on('error', () => {
      // The process exited before reading its input; its exit status and stderr say why.
    });
    child.stdin?.end(stdin ?? '');
  });

/** The file and arguments that run `tool args...`, inside `netns` when given. */
export function commandFor(tool: string, args: readonly string[], netns: string | null): { file: string; args: string[] } {
  return netns === null ? { file: tool, args: [...args] } : { file: 'ip', args: ['netns', 'exec', netns, tool, ...args] };
}
