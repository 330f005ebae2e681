/**
 * Atomic file replacement: the bytes go to a uniquely named temporary file in the target's folder,
 * which is fsynced, closed and renamed over the target; the folder is then fsynced so the rename
 * itself survives a power cut. A reader sees the previous file or the complete new one, never a part.
 *
 * Where the bytes go (decided here, documented in docs/formats.md):
 * - a symbolic link is followed (to any depth) and its final target is replaced, atomically, in the
 *   target's own folder; the link stays a link;
 * - an existing target that is not a regular file (a folder, a device such as /dev/full, a FIFO, a
 *   socket) is refused: renaming over it would replace the device node or hang on the FIFO;
 * - a new file gets mode 0666 less the umask; an existing file keeps its mode;
 * - temporary files left by a writer that died mid-write (SIGKILL) are removed by the next write.
 * Every failure is one LstmError ERR_LSTM_FILE naming the path and the reason (full disk, read-only
 * or unwritable folder, ...), with the temporary file removed and the previous file intact.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LstmError } from '../errors.js';
import { kindOf } from './file-source.js';

/** Largest single write handed to the OS (fs caps one call below 2 GiB). */
const IO_CHUNK = 1 << 30;
/** Most links followed before giving up (as the kernel's ELOOP limit). */
const MAX_LINKS = 40;

/** Where a write to `path` lands, and the mode of the file it replaces (null: a new file). */
interface WriteTarget {
  target: string;
  mode: number | null;
}

/** The reason of an fs failure in words, for the message. */
function reason(err: unknown, target: string): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  const dir = dirname(target);
  switch (code) {
    case 'ENOSPC': return 'the disk is full (ENOSPC)';
    case 'EDQUOT': return 'the disk quota is exhausted (EDQUOT)';
    case 'EACCES': case 'EPERM': return `the folder ${dir} cannot be written (${code})`;
    case 'EROFS': return `the folder ${dir} is on a read-only file system (EROFS)`;
    case 'ENOENT': return `the folder ${dir} does not exist (ENOENT)`;
    case 'ENOTDIR': return `a part of the folder path ${dir} is not a folder (ENOTDIR)`;
    case 'ELOOP': return `the path has a symbolic link loop (ELOOP)`;
    default: return (err as Error)?.message ?? String(err);
  }
}

function writeError(where: string, path: string, what: string, cause?: unknown): LstmError {
  return new LstmError(`${where}: ${path}: ${what}; the previous file, if any, is unchanged`, 'ERR_LSTM_FILE',
    cause === undefined ? undefined : { cause });
}

/** Follows links from `path` to the file a write must replace; refuses non-regular targets. */
function resolveTarget(where: string, path: string): WriteTarget {
  let at = resolve(path);
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { target: at, mode: null };
      throw writeError(where, path, reason(err, at), err);
    }
    if (st.isSymbolicLink()) {
      at = resolve(dirname(at), fs.readlinkSync(at));
      continue;
    }
    if (!st.isFile()) {
      const via = at === resolve(path) ? '' : ` (the link leads to ${at})`;
      throw writeError(where, path, `is ${kindOf(st)}${via}, not a regular file; refusing to replace it`);
    }
    return { target: at, mode: st.mode & 0o7777 };
  }
  throw writeError(where, path, `more than ${MAX_LINKS} symbolic links to follow (a loop?)`);
}

function tempPrefix(target: string): string {
  return `.${basename(target).slice(0, 100)}.`;
}

function tempPath(target: string): string {
  return join(dirname(target), `${tempPrefix(target)}${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** True unless `pid` is certainly gone (EPERM: alive under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the temporary files of earlier writes to `target` whose process died mid-write (a
 * SIGKILL or a power cut skips every cleanup), so they do not pile up. Best effort.
 */
function sweepStale(target: string): void {
  const prefix = tempPrefix(target);
  let names: string[];
  try {
    names = fs.readdirSync(dirname(target));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const m = /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    try { fs.unlinkSync(join(dirname(target), name)); } catch { /* another writer swept it */ }
  }
}

/** fsync of the folder, so the rename is durable (not possible everywhere: Windows cannot open a folder). */
export function syncFolderSync(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch { /* best effort */ }
}

async function syncFolder(dir: string): Promise<void> {
  try {
    const handle = await fs.promises.open(dir, 'r');
    try { await handle.sync(); } finally { await handle.close(); }
  } catch { /* best effort */ }
}

/**
 * Replaces `path` with `chunks`, concatenated, atomically; synchronous.
 * @throws LstmError ERR_LSTM_FILE naming the path and the reason.
 */
export function writeFileAtomicSync(where: string, path: string, chunks: readonly Uint8Array[]): void {
  const { target, mode } = resolveTarget(where, path);
  sweepStale(target);
  const tmp = tempPath(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', mode ?? 0o666);
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) done += fs.writeSync(fd, chunk, done, Math.min(chunk.length - done, IO_CHUNK));
    }
    if (mode !== null) fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
    const closing = fd;
    fd = undefined;
    fs.closeSync(closing);
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    try { fs.unlinkSync(tmp); } catch { /* never created, or gone */ }
    throw writeError(where, path, reason(err, target), err);
  }
  syncFolderSync(dirname(target));
}

/**
 * Replaces `path` with `chunks`, concatenated, atomically, without blocking the event loop. The
 * chunks must not change until the promise settles (pass copies).
 * @throws LstmError ERR_LSTM_FILE naming the path and the reason.
 */
export async function writeFileAtomic(where: string, path: string, chunks: readonly Uint8Array[]): Promise<void> {
  const { target, mode } = resolveTarget(where, path);
  sweepStale(target);
  const tmp = tempPath(target);
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(tmp, 'wx', mode ?? 0o666);
    for (const chunk of chunks) {
      let done = 0;
      while (done < chunk.length) {
        done += (await handle.write(chunk, done, Math.min(chunk.length - done, IO_CHUNK))).bytesWritten;
      }
    }
    if (mode !== null) await handle.chmod(mode);
    await handle.sync();
    const closing = handle;
    handle = undefined;
    await closing.close();
    await fs.promises.rename(tmp, target);
  } catch (err) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    await fs.promises.unlink(tmp).catch(() => undefined);
    throw writeError(where, path, reason(err, target), err);
  }
  await syncFolder(dirname(target));
}
