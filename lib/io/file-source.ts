/**
 * Opening model files for reading without surprises: only regular files are read (a FIFO, a socket,
 * a device or a folder is refused before a byte is read, so nothing can block), the open itself
 * never waits (O_NONBLOCK: opening a FIFO with no writer would otherwise block forever), the type is
 * checked again on the open descriptor (the path may have changed in between), and a file whose
 * reported size is 0 but that has content (a /proc or /sys pseudo-file) is named as such.
 * Readers come in two kinds: asynchronous (never blocks the event loop) and synchronous (for the
 * small files of the synchronous API).
 */
import fs from 'node:fs';
import { LstmError } from '../errors.js';

/** Random access to the bytes of a file or a buffer, asynchronously. */
export interface AsyncByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** Fills `into` with the bytes starting at `position` (all of them, or throws). */
  read(position: number, into: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Random access to the bytes of a file or a buffer, synchronously. */
export interface SyncByteSource {
  readonly size: number;
  read(position: number, into: Uint8Array): void;
}

/** Largest single read handed to the OS (fs caps one call below 2 GiB). */
const IO_CHUNK = 1 << 30;

/** O_NONBLOCK where the platform has it (not on Windows, which has no FIFOs to block on). */
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/** What a non-regular file is, for messages. */
export function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function fileError(where: string, path: string, what: string, cause?: unknown): LstmError {
  return new LstmError(`${where}: ${path}: ${what}`, 'ERR_LSTM_FILE', cause === undefined ? undefined : { cause });
}

function refuseNonRegular(where: string, path: string, st: fs.Stats): void {
  if (!st.isFile()) throw fileError(where, path, `is ${kindOf(st)}, not a regular file; only regular files are read`);
}

function pseudoFileError(where: string, path: string): LstmError {
  return fileError(where, path, 'reports a size of 0 bytes but is not empty (a /proc or /sys pseudo-file?); '
    + 'model files must be regular files with a real size');
}

function endedEarly(where: string, path: string, at: number, size: number): LstmError {
  return fileError(where, path, `the file ended at byte ${at} while reading (it is ${size} bytes long; was it changed while being read?)`);
}

/**
 * Opens a regular file for asynchronous reading.
 * @throws LstmError ERR_LSTM_FILE for a folder, FIFO, socket or device, or a pseudo-file; the `fs`
 *   error (ENOENT, EACCES, ...) when the file cannot be opened.
 */
export async function openFileSource(where: string, path: string): Promise<AsyncByteSource> {
  refuseNonRegular(where, path, await fs.promises.stat(path));
  const handle = await fs.promises.open(path, OPEN_FLAGS);
  try {
    const st = await handle.stat();
    refuseNonRegular(where, path, st);
    const size = st.size;
    const read = async (position: number, into: Uint8Array): Promise<void> => {
      let done = 0;
      while (done < into.length) {
        const { bytesRead } = await handle.read(into, done, Math.min(into.length - done, IO_CHUNK), position + done);
        if (bytesRead === 0) throw endedEarly(where, path, position + done, size);
        done += bytesRead;
      }
    };
    if (size === 0 && (await handle.read(new Uint8Array(1), 0, 1, 0)).bytesRead > 0) throw pseudoFileError(where, path);
    return { size, read, close: () => handle.close() };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Opens a regular file for synchronous reading and runs `use` on it; the file is closed after.
 * @throws as {@link openFileSource}.
 */
export function withSyncFileSource<T>(where: string, path: string, use: (src: SyncByteSource) => T): T {
  refuseNonRegular(where, path, fs.statSync(path));
  const fd = fs.openSync(path, OPEN_FLAGS);
  try {
    const st = fs.fstatSync(fd);
    refuseNonRegular(where, path, st);
    const size = st.size;
    if (size === 0 && fs.readSync(fd, new Uint8Array(1), 0, 1, 0) > 0) throw pseudoFileError(where, path);
    return use({
      size,
      read(position, into) {
        let done = 0;
        while (done < into.length) {
          const got = fs.readSync(fd, into, done, Math.min(into.length - done, IO_CHUNK), position + done);
          if (got === 0) throw endedEarly(where, path, position + done, size);
          done += got;
        }
      },
    });
  } finally {
    fs.closeSync(fd);
  }
}

/** A byte source over memory. */
export function bufferSource(bytes: Uint8Array): SyncByteSource {
  return {
    size: bytes.length,
    read(position, into) {
      into.set(bytes.subarray(position, position + into.length));
    },
  };
}

/** The same, behind the asynchronous interface. */
export function asyncBufferSource(bytes: Uint8Array): AsyncByteSource {
  const src = bufferSource(bytes);
  return { size: src.size, read: async (position, into) => src.read(position, into), close: async () => undefined };
}

/**
 * The name of an in-memory source in messages, with a hint when the bytes look like a path: a
 * Buffer is always read as a file's contents, never as a file name.
 */
export function bufferName(bytes: Uint8Array): string {
  const base = `<buffer of ${bytes.length} bytes>`;
  if (bytes.length === 0 || bytes.length > 4096) return base;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return base;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f]/.test(text) || !/[/\\.]/.test(text)) return base;
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return `${base} (its bytes read as the text ${JSON.stringify(shown)}: a Buffer is read as the file's contents; `
    + 'pass a path as a string)';
}
