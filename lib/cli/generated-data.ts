/**
 * Generated training data for `lstm train` (`data.generator` in the config): a function exported by
 * a JS module draws `n` sequences from a seeded random stream, `fn(n, rng, ...args)`, returning one
 * batch `{ x, y, lengths? }` in the forms `model.fit` takes (x batch-first (n, T, I), y (n, ...)).
 * This is how synthetic tasks (the adding problem, temporal order) train without shipping data files.
 *
 * Every epoch yields the same `batchesPerEpoch` batches (the stream restarts from the seed), which is
 * what `fit` needs for `--resume` to continue bit for bit; a long epoch gives fresh data throughout.
 * The validation set is drawn once from a separate stream (seed + 10000), as examples/lib does.
 * The module is code the config names: it runs with the user's rights, like a Makefile's commands.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Random } from '../random.js';
import type { ArrayData, Batch } from '../train/types.js';
import { CliError, messageOf } from './cli-error.js';
import type { GeneratorConfig } from './train-config.js';

type DrawFn = (n: number, rng: Random, ...args: unknown[]) => Batch;

/** Imports the generator function; CliError (exit 2) when the module or the export is missing. */
async function load(g: GeneratorConfig): Promise<DrawFn> {
  if (!existsSync(g.module)) throw new CliError(`config: data.generator.module ${g.module}: no such file`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(g.module).href) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`config: data.generator.module ${g.module}: cannot import: ${messageOf(err)}`);
  }
  const fn = mod[g.export];
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    throw new CliError(`config: data.generator.export "${g.export}" is not a function exported by ${g.module}; it exports ${names.join(', ') || 'no functions'}`);
  }
  return fn as DrawFn;
}

/** Checks one drawn batch, so a generator bug is a clear error rather than a confusing one in fit. */
function checked(batch: Batch, n: number, what: string): Batch {
  const x = batch?.x as { shape?: unknown } | undefined;
  if (batch === null || typeof batch !== 'object' || x === undefined || batch.y === undefined) {
    throw new CliError(`data.generator: ${what} must be an object { x, y, lengths? }, got ${typeof batch}`, 1);
  }
  const rows = Array.isArray(x) ? x.length : Array.isArray(x.shape) ? x.shape[0] : undefined;
  if (rows !== n) throw new CliError(`data.generator: ${what} has ${String(rows)} sequences, asked for ${n}`, 1);
  return batch;
}

/** The training iterable (re-iterable, the same batches each epoch) and the validation set. */
export async function generatedData(g: GeneratorConfig, batchSize: number, seed: number):
  Promise<{ train: AsyncIterable<Batch>; validation: ArrayData | undefined }> {
  const draw = await load(g);
  const train: AsyncIterable<Batch> = {
    async *[Symbol.asyncIterator]() {
      const rng = new Random(seed);
      for (let i = 0; i < g.batchesPerEpoch; i++) yield checked(draw(batchSize, rng, ...g.args), batchSize, `batch ${i + 1}`);
    },
  };
  let validation: ArrayData | undefined;
  if (g.validationSize > 0) {
    const v = checked(draw(g.validationSize, new Random(seed + 10000), ...g.args), g.validationSize, 'the validation set');
    validation = { x: v.x, y: v.y, ...(v.lengths ? { lengths: v.lengths } : {}) } as ArrayData;
  }
  return { train, validation };
}
