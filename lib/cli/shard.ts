/** `--shard k/n`: this process takes the input lines whose index modulo n is k. */
import { CliError } from './cli-error.js';

export interface Shard { k: number; n: number }

/** Parses `k/n` (0 <= k < n); throws CliError (exit 2) naming the problem. */
export function parseShard(spec: string | undefined): Shard {
  if (spec === undefined) return { k: 0, n: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  if (!m) throw new CliError(`--shard must be k/n with whole numbers (e.g. 0/4), got "${spec}"`);
  const k = Number(m[1]);
  const n = Number(m[2]);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`--shard k/n needs n >= 1, got "${spec}"`);
  if (k >= n) throw new CliError(`--shard k/n needs 0 <= k < n (k counts from 0), got "${spec}"`);
  return { k, n };
}
