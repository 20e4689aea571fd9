/**
 * Builds the C baseline (nfq-passthrough.c, beside this file) with cc against libnetfilter_queue, once,
 * into a cache directory: node_modules/.cache/sluice when it can be written, else the system's temporary
 * directory. The binary is rebuilt when the source is newer than it. A missing compiler or missing
 * libnetfilter_queue headers is not an exception but a result with one line saying what to install, so
 * that the datapath benchmark can print it and a test can fail with it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type BaselineBuild = { ok: true; path: string } | { ok: false; reason: string };

export interface BuildOptions {
  /** The C compiler to run; "cc" by default. */
  cc?: string;
  /** Where the binary goes; the cache directory described above by default. */
  cacheDir?: string;
}

const SOURCE = fileURLToPath(new URL('./nfq-passthrough.c', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BINARY_NAME = 'nfq-passthrough';
const CFLAGS = ['-O2', '-Wall', '-Wextra', '-std=gnu11'];
const LIBS = ['-lnetfilter_queue'];
const COMPILE_TIMEOUT_MS = 60_000;
const INSTALL_HEADERS = 'install libnetfilter-queue-dev (apt-get install -y libnetfilter-queue-dev)';

const builds = new Map<string, Promise<BaselineBuild>>();

/** The compiled pass-through program, compiled now if absent or older than its source. */
export function buildBaseline(options: BuildOptions = {}): Promise<BaselineBuild> {
  const cc = options.cc ?? 'cc';
  const dir = options.cacheDir ?? defaultCacheDir();
  const key = `${cc}\0${dir}`;
  let build = builds.get(key);
  if (build === undefined) {
    build = compileIfStale(cc, dir);
    builds.set(key, build);
  }
  return build;
}

/** node_modules/.cache/sluice in the repository when writable, else $TMPDIR/sluice-cache. */
function defaultCacheDir(): string {
  for (const dir of [join(REPO_ROOT, 'node_modules', '.cache', 'sluice'), join(tmpdir(), 'sluice-cache')]) {
    try {
      mkdirSync(dir, { recursive: true });
      return dir;
    } catch {
      // not writable: try the next place
    }
  }
  return tmpdir();
}

function mtimeMs(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

async function compileIfStale(cc: string, dir: string): Promise<BaselineBuild> {
  const path = join(dir, BINARY_NAME);
  const sourceMs = mtimeMs(SOURCE);
  if (sourceMs === null) return { ok: false, reason: `the baseline source ${SOURCE} is missing` };
  const builtMs = mtimeMs(path);
  if (builtMs !== null && builtMs >= sourceMs) return { ok: true, path };
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    return { ok: false, reason: `cannot create the build directory ${dir}: ${(e as Error).message}` };
  }
  // Compiled under a name of its own and renamed into place: a concurrent build never runs a half-written binary.
  const partial = `${path}.${process.pid}.partial`;
  const result = await new Promise<{ code: string | number | null; stderr: string }>((resolve) => {
    execFile(cc, [...CFLAGS, '-o', partial, SOURCE, ...LIBS], { timeout: COMPILE_TIMEOUT_MS }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err.code ?? null), stderr });
    });
  });
  if (result.code !== 0) {
    rmSync(partial, { force: true });
    return { ok: false, reason: failureReason(cc, result.code, result.stderr) };
  }
  renameSync(partial, path);
  return { ok: true, path };
}

/** One line saying why the build failed and what to install. */
function failureReason(cc: string, code: string | number | null, stderr: string): string {
  if (code === 'ENOENT') return `the C baseline needs a C compiler, and ${cc} was not found: install gcc (apt-get install -y gcc)`;
  if (/(libnetfilter_queue|libnfnetlink)\.h: No such file|cannot find -l(netfilter_queue|nfnetlink)/.test(stderr)) {
    return `the C baseline needs libnetfilter_queue's headers and library: ${INSTALL_HEADERS}`;
  }
  const first = stderr.trim().split('\n').slice(0, 3).join(' / ');
  return `compiling the C baseline with ${cc} failed (${code === null ? 'timed out or killed' : `status ${code}`})${first === '' ? '' : `: ${first}`}`;
}

export type CMode = 'per-packet' | 'batch';

/** What nfq-passthrough prints as its last line when it stops. */
export interface CReport {
  mode: CMode;
  queue: number;
  seconds: number;
  cpuSeconds: number;
  packets: number;
  verdicts: number;
  recvCalls: number;
  recvErrors: number;
  verdictErrors: number;
}

/** The C program's final JSON line from its output. */
export function parseCReport(output: string): CReport {
  const line = output.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as CReport;
  } catch {
    throw new Error(`nfq-passthrough printed no result line: ${output.trim().slice(0, 300)}`);
  }
}
