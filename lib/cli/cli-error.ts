/**
 * How the `lstm` command fails: one clear line on stderr and an exit code. 2 = bad usage or an
 * unusable resource found before any work (missing or corrupt model, unwritable output, bad shard
 * spec); 1 = the work itself failed (a bad row with --strict, a training error).
 */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2 = 2) {
    super(message);
    this.name = 'CliError';
  }
}

/** The message of anything thrown, without a stack. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
