/**
 * Training checkpoints: one safetensors file holding everything a run needs to continue exactly
 * (docs/formats.md, "Training checkpoints"): the weights under their PyTorch names, the optimizer's
 * buffers per parameter (`optimizer.<param>.<buffer>`), the best weights for early stopping
 * (`best.<param>`), the carried TBPTT state (`carried.<i>.h`, `carried.<i>.c`), and as JSON in
 * `__metadata__` the optimizer's options and step, the schedule, the generators' state, the data
 * position and the run's history. Files are written atomically and without blocking: a temporary
 * file in the same folder, fsync, rename over the target, fsync of the folder.
 * @internal
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LstmError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import type { OptimizerState } from '../optim/optimizer.js';
import type { ParamSlot } from '../parameters.js';
import type { Tensor, TensorData } from '../tensor.js';
import type { RecurrentState } from '../layers/module.js';

export const CHECKPOINT_FORMAT = 'lstm-native/fit-checkpoint';
export const CHECKPOINT_VERSION = '1';
const FILE_PATTERN = /^checkpoint-e(\d+)-b(\d+)\.safetensors$/;

/** Where a run stands: the epoch (from 0) and the batches of it already trained. */
export interface Position {
  epoch: number;
  batch: number;
  globalStep: number;
}

/** Everything a checkpoint holds. `run` is the loop's own JSON state (history, sums, early stopping). */
export interface CheckpointData {
  weights: Float32Array;
  optimizer: OptimizerState;
  schedule: unknown;
  rng: unknown;
  position: Position;
  carried: RecurrentState[] | null;
  best: Float32Array | null;
  run: Record<string, unknown>;
}

/** The file name of a checkpoint at `position`; names sort in training order. */
export function checkpointName(position: Position): string {
  return `checkpoint-e${String(position.epoch).padStart(5, '0')}-b${String(position.batch).padStart(8, '0')}.safetensors`;
}

function cut(flat: Float32Array, slots: readonly ParamSlot[], prefix: string, suffix = ''): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const s of slots) out[`${prefix}${s.name}${suffix}`] = { data: flat.subarray(s.offset, s.offset + s.size), shape: [...s.shape] };
  return out;
}

/** The bytes of a checkpoint file. */
export function encodeCheckpoint(slots: readonly ParamSlot[], data: CheckpointData): Uint8Array {
  const tensors: Record<string, Tensor<TensorData>> = { ...cut(data.weights, slots, '') };
  for (const [name, buf] of Object.entries(data.optimizer.buffers)) Object.assign(tensors, cut(buf, slots, 'optimizer.', `.${name}`));
  if (data.best) Object.assign(tensors, cut(data.best, slots, 'best.'));
  data.carried?.forEach((s, i) => {
    tensors[`carried.${i}.h`] = s.h;
    tensors[`carried.${i}.c`] = s.c;
  });
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    optimizer: JSON.stringify({ type: data.optimizer.type, options: data.optimizer.options, step: data.optimizer.step,
      buffers: Object.keys(data.optimizer.buffers) }),
    schedule: JSON.stringify(data.schedule ?? null),
    rng: JSON.stringify(data.rng ?? null),
    position: JSON.stringify(data.position),
    carried: String(data.carried?.length ?? 0),
    run: JSON.stringify(data.run),
  };
  return encodeSafetensors(tensors, metadata);
}

function json(file: string, metadata: Record<string, string>, key: string): unknown {
  const text = metadata[key];
  if (text === undefined) throw new LstmError(`${file}: not a training checkpoint: __metadata__ has no "${key}"`, 'ERR_LSTM_FILE');
  try {
    return JSON.parse(text);
  } catch {
    throw new LstmError(`${file}: __metadata__.${key} is not valid JSON`, 'ERR_LSTM_FILE');
  }
}

function gather(file: string, tensors: Record<string, Tensor<TensorData>>, slots: readonly ParamSlot[], size: number,
  prefix: string, suffix = ''): Float32Array {
  const flat = new Float32Array(size);
  for (const s of slots) {
    const name = `${prefix}${s.name}${suffix}`;
    const t = tensors[name];
    if (!t) throw new LstmError(`${file}: checkpoint has no tensor "${name}" (a checkpoint of another model?)`, 'ERR_LSTM_FILE');
    if (!(t.data instanceof Float32Array) || t.data.length !== s.size || t.shape.join() !== s.shape.join()) {
      throw new LstmError(`${file}: tensor "${name}" must be F32 of shape [${s.shape.join(', ')}], got shape [${t.shape.join(', ')}]`,
        'ERR_LSTM_FILE');
    }
    flat.set(t.data, s.offset);
  }
  return flat;
}

/** Reads a checkpoint for a model with these parameter slots. */
export async function readCheckpoint(path: string, slots: readonly ParamSlot[], size: number): Promise<CheckpointData> {
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(path);
  } catch (err) {
    throw new LstmError(`${path}: cannot read the checkpoint (${(err as Error).message})`, 'ERR_LSTM_FILE', { cause: err });
  }
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new LstmError(`${path}: not a training checkpoint (__metadata__.format is ${JSON.stringify(metadata.format ?? null)})`, 'ERR_LSTM_FILE');
  }
  if (metadata.version !== CHECKPOINT_VERSION) {
    throw new LstmError(`${path}: checkpoint version ${metadata.version} is not supported (expected ${CHECKPOINT_VERSION})`, 'ERR_LSTM_FILE');
  }
  const weights = gather(path, tensors, slots, size, '');
  const opt = json(path, metadata, 'optimizer') as { type: string; options: Record<string, unknown>; step: number; buffers: string[] };
  const buffers: Record<string, Float32Array> = {};
  for (const name of opt.buffers ?? []) buffers[name] = gather(path, tensors, slots, size, 'optimizer.', `.${name}`);
  const count = Number(metadata.carried ?? '0');
  const carried: RecurrentState[] = [];
  for (let i = 0; i < count; i++) {
    const h = tensors[`carried.${i}.h`];
    const c = tensors[`carried.${i}.c`];
    if (!h || !c || !(h.data instanceof Float32Array) || !(c.data instanceof Float32Array)) {
      throw new LstmError(`${path}: checkpoint lacks the carried state carried.${i}.h / .c`, 'ERR_LSTM_FILE');
    }
    carried.push({ h: h as Tensor, c: c as Tensor });
  }
  return {
    weights,
    optimizer: { type: opt.type, options: opt.options, step: opt.step, buffers },
    schedule: json(path, metadata, 'schedule'),
    rng: json(path, metadata, 'rng'),
    position: json(path, metadata, 'position') as Position,
    carried: count > 0 ? carried : null,
    best: tensors[`best.${slots[0]?.name}`] ? gather(path, tensors, slots, size, 'best.') : null,
    run: json(path, metadata, 'run') as Record<string, unknown>,
  };
}

/**
 * Writes `bytes` to `path` atomically without blocking the event loop: a temporary file in the same
 * folder, fsync, rename over `path`, fsync of the folder. On failure the temporary file is removed
 * and `path` keeps its previous content.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const target = resolve(path);
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await fsp.open(tmp, 'wx');
  try {
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/** fsync of a folder, so a rename or unlink in it is durable (not possible on every platform). */
async function syncDir(dir: string): Promise<void> {
  try {
    const d = await fsp.open(dir, 'r');
    try { await d.sync(); } finally { await d.close(); }
  } catch { /* best effort: Windows cannot open a folder */ }
}

/** The checkpoint files in `dir`, oldest first. */
export async function listCheckpoints(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.filter((n) => FILE_PATTERN.test(n)).sort().map((n) => join(dir, n));
}

/** Writes the checkpoint into `dir`, then removes all but the newest `keep`; returns its path. */
export async function saveCheckpoint(dir: string, keep: number, slots: readonly ParamSlot[], data: CheckpointData): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  const path = join(dir, checkpointName(data.position));
  await writeFileAtomic(path, encodeCheckpoint(slots, data));
  const all = await listCheckpoints(dir);
  const old = all.slice(0, Math.max(0, all.length - keep));
  if (old.length > 0) {
    for (const f of old) await fsp.rm(f, { force: true });
    await syncDir(dir);
  }
  return path;
}

/** A checkpoint file, or the newest checkpoint in a folder. */
export async function resolveResume(where: string, from: string): Promise<string> {
  let stat;
  try {
    stat = await fsp.stat(from);
  } catch (err) {
    throw new LstmError(`${where}: resumeFrom ${from} does not exist`, 'ERR_LSTM_FILE', { cause: err });
  }
  if (!stat.isDirectory()) return from;
  const all = await listCheckpoints(from);
  const newest = all[all.length - 1];
  if (!newest) throw new LstmError(`${where}: resumeFrom ${from} holds no checkpoint (checkpoint-e*-b*.safetensors)`, 'ERR_LSTM_FILE');
  return newest;
}
