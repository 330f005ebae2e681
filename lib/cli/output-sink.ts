/**
 * Where `lstm predict` writes: stdout, or a file written atomically (a temporary file in the same
 * folder, fsynced, renamed over the target on success, removed on failure). Writes respect
 * backpressure: `write` resolves when the stream can take more. A closed stdout (`| head`) ends the
 * process quietly.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, createWriteStream, type WriteStream } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { syncFolderSync } from '../io/atomic-write.js';
import { CliError } from './cli-error.js';

/** Ends the process quietly when stdout's reader goes away (EPIPE), as `head` does to a pipeline. */
export function quietOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

export class OutputSink {
  private buffered: string[] = [];
  private size = 0;

  private constructor(private readonly stream: Writable, private readonly file: { fd: number; tmp: string; target: string } | null) {}

  /**
   * Opens `path` ('-' = stdout). The temporary file is created here, so an unwritable output fails
   * before any work (CliError, exit 2).
   */
  static open(path: string): OutputSink {
    if (path === '-') return new OutputSink(process.stdout, null);
    const target = resolve(path);
    const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
    let fd: number;
    try {
      fd = openSync(tmp, 'wx');
    } catch (err) {
      throw new CliError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const stream: WriteStream = createWriteStream('', { fd, autoClose: false });
    return new OutputSink(stream, { fd, tmp, target });
  }

  /** Queues text; resolves once the stream can take more (backpressure). */
  async write(text: string): Promise<void> {
    this.buffered.push(text);
    this.size += text.length;
    if (this.size >= 1 << 16) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.buffered.length === 0) return;
    const chunk = this.buffered.join('');
    this.buffered = [];
    this.size = 0;
    if (!this.stream.write(chunk)) {
      await new Promise<void>((done, fail) => {
        const onError = (err: Error) => { this.stream.off('drain', onDrain); fail(err); };
        const onDrain = () => { this.stream.off('error', onError); done(); };
        this.stream.once('drain', onDrain);
        this.stream.once('error', onError);
      });
    }
  }

  /** Flushes; for a file: fsync, rename over the target, fsync the folder. */
  async close(): Promise<void> {
    await this.flush();
    if (!this.file) return;
    const { fd, tmp, target } = this.file;
    await new Promise<void>((done, fail) => this.stream.end((err?: Error | null) => (err ? fail(err) : done())));
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, target);
    syncFolderSync(dirname(target));
  }

  /** Drops a half-written file (the target keeps its previous content). */
  abort(): void {
    if (!this.file) return;
    try { closeSync(this.file.fd); } catch { /* already closed */ }
    try { unlinkSync(this.file.tmp); } catch { /* already gone */ }
  }
}
