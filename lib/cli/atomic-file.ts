/** Small files written atomically: a temporary file in the same folder, fsync, rename, fsync of the folder. */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export function writeFileAtomic(path: string, text: string): void {
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, target);
  fsyncDir(dirname(target));
}

/** Makes a rename in `dir` durable (best effort: not possible on every platform). */
export function fsyncDir(dir: string): void {
  try {
    const dirFd = openSync(dir, 'r');
    try { fsyncSync(dirFd); } finally { closeSync(dirFd); }
  } catch { /* not possible on every platform */ }
}
