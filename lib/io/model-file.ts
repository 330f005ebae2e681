/**
 * The self-describing model file: safetensors with every parameter under its PyTorch name and a
 * `__metadata__` holding the format name, the format version and the whole architecture, so
 * `loadModel` rebuilds the model with no user code. The keys are documented in docs/formats.md.
 */
import { describe, LstmError, rangeError, typeError } from '../errors.js';
import { installModelSaver, Module, type SaveModelOptions } from '../layers/module.js';
import { checkOptions } from '../validate.js';
import { buildModule, checkModuleSpec, describeModule, SpecError } from './architecture.js';
import { writeFileAtomic } from './atomic-write.js';
import { openSafetensors, safetensorsChunks, show, type SafetensorsReader } from './safetensors.js';
import { modelInfo, rememberInfo } from './model-info.js';
import { isTfjsModelSource, loadTfjsModel } from './tfjs.js';

/** `__metadata__.format` of a model file. */
export const MODEL_FORMAT = 'lstm-native/model';
/** `__metadata__.format_version` this package writes, and the newest it reads. */
export const MODEL_FORMAT_VERSION = 1;

/** Metadata keys this format sets; user metadata may not use them. */
const RESERVED_KEYS = ['format', 'format_version', 'architecture', 'training', 'producer', 'rounded_from_f64'] as const;

export type { SaveModelOptions };

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** For a TensorFlow.js model.json: the folder its weight shards are in (default: the model.json's folder). */
  weightsDir?: string;
}

// Module.save writes through saveModel: the layers cannot import this file (it imports them).
installModelSaver(saveModel);

/**
 * Saves any model (an LSTM, Linear, Embedding, Dropout or a Sequential of them) as a model file:
 * parameters under their PyTorch names (a PyTorch module with the same attribute names loads them
 * with `load_state_dict(strict=True)`), the architecture in the metadata. The write is atomic: the
 * previous file stays whole until the new one is complete.
 * @throws TypeError for a module this format cannot describe or bad metadata; LstmError ERR_LSTM_FILE
 *   naming the path and the reason when the write fails.
 */
export async function saveModel(model: Module, path: string, options?: SaveModelOptions): Promise<void> {
  const where = 'model.save';
  if (!(model instanceof Module)) throw typeError(`${where}: model must be a layer or a Sequential, got ${describe(model)}`);
  if (typeof path !== 'string') throw typeError(`${where}: path must be a string, got ${describe(path)}`);
  if (path === '') throw rangeError(`${where}: path must not be empty`);
  const o = checkOptions(where, options, ['metadata']);
  const user = (o.metadata ?? {}) as Record<string, unknown>;
  if (user === null || typeof user !== 'object' || Array.isArray(user)) {
    throw typeError(`${where}: metadata must be an object of strings, got ${describe(user)}`);
  }
  for (const key of Object.keys(user)) {
    if ((RESERVED_KEYS as readonly string[]).includes(key)) {
      throw rangeError(`${where}: metadata key "${key}" is set by the format (reserved: ${RESERVED_KEYS.join(', ')})`);
    }
  }
  const kept = modelInfo(model)?.metadata ?? {};
  const metadata: Record<string, string> = {
    // What a loaded model came with is carried on (the rounding note too); the format's own keys are new.
    ...Object.fromEntries(Object.entries(kept).filter(([k]) => k === 'rounded_from_f64'
      || !(RESERVED_KEYS as readonly string[]).includes(k))),
    ...(user as Record<string, string>),
    format: MODEL_FORMAT,
    format_version: String(MODEL_FORMAT_VERSION),
    architecture: JSON.stringify(describeModule(model, where)),
    training: String(model.isTraining),
    producer: 'lstm-native',
  };
  // stateDict() copies: the bytes cannot change while the asynchronous write runs.
  await writeFileAtomic(where, path, safetensorsChunks(where, model.stateDict(), metadata));
}

/**
 * Loads a model with no code of yours: a model file written by {@link Module.save} (a path or its
 * bytes), or a TensorFlow.js Layers model (a path to its model.json). Parameters are read straight
 * from the file into the model (memory follows the model's size), without blocking the event loop.
 * Parameters stored as F64 are rounded to float32, and the kept metadata says so
 * (`rounded_from_f64`, see {@link modelInfo}).
 * @throws LstmError ERR_LSTM_FILE naming the file and the problem for anything malformed, for a file
 *   of a newer format version, for a pickle checkpoint, or for a bare state dict (no architecture).
 */
export async function loadModel(pathOrBuffer: string | Uint8Array, options?: LoadModelOptions): Promise<Module> {
  const where = 'loadModel';
  const o = checkOptions(where, options, ['weightsDir']);
  if (o.weightsDir !== undefined && typeof o.weightsDir !== 'string') {
    throw typeError(`${where}: weightsDir must be a string, got ${describe(o.weightsDir)}`);
  }
  if (await isTfjsModelSource(pathOrBuffer)) return loadTfjsModel(pathOrBuffer as string, o.weightsDir as string | undefined);
  const reader = await openSafetensors(pathOrBuffer, where);
  try {
    return await loadFromReader(reader);
  } finally {
    await reader.close();
  }
}

async function loadFromReader(reader: SafetensorsReader): Promise<Module> {
  const name = reader.sourceName;
  const fail = (what: string): never => {
    throw new LstmError(`loadModel: ${name}: ${what}`, 'ERR_LSTM_FILE');
  };
  const meta = reader.metadata;
  if (meta.format === undefined || (meta.format !== MODEL_FORMAT && meta.architecture === undefined)) {
    fail('the file has no __metadata__.format: it is a bare state dict (PyTorch\'s save_file or writeSafetensors), '
      + 'not a model file. Build the model in code and call model.loadStateDict(readSafetensors(path).tensors)');
  }
  if (meta.format !== MODEL_FORMAT) fail(`__metadata__.format is ${show(meta.format)}, not "${MODEL_FORMAT}"`);
  const version = meta.format_version;
  if (version === undefined || !/^[1-9][0-9]{0,8}$/.test(version)) {
    fail(`__metadata__.format_version must be a positive integer, got ${show(version)}`);
  }
  if (Number(version) > MODEL_FORMAT_VERSION) {
    fail(`the file has format version ${version}, written by a newer lstm-native; this package reads format `
      + `version ${MODEL_FORMAT_VERSION} and older: upgrade lstm-native to load it`);
  }
  if (meta.training !== undefined && meta.training !== 'true' && meta.training !== 'false') {
    fail(`__metadata__.training must be "true" or "false", got ${show(meta.training)}`);
  }
  if (meta.architecture === undefined) fail('__metadata__.architecture is missing');
  let json: unknown;
  try {
    json = JSON.parse(meta.architecture!);
  } catch (err) {
    fail(`__metadata__.architecture is not valid JSON (${(err as Error).message})`);
  }
  // A parameter takes at least 2 bytes in the file (F16): the architecture cannot need more.
  let capacity = 0;
  for (const n of reader.names) capacity += reader.info(n)!.byteLength / 2;
  let model: Module;
  try {
    model = buildModule(checkModuleSpec(json, capacity));
  } catch (err) {
    if (err instanceof SpecError) return fail(`__metadata__.architecture: ${err.message}`);
    throw err;
  }

  const slots = model.slots;
  const expected = new Set(slots.map((s) => s.name));
  const missing = slots.filter((s) => reader.info(s.name) === undefined).map((s) => s.name);
  const unexpected = reader.names.filter((n) => !expected.has(n));
  if (missing.length || unexpected.length) {
    const parts = [];
    if (missing.length) parts.push(`missing ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`);
    if (unexpected.length) parts.push(`unexpected ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ', …' : ''}`);
    fail(`the tensors do not fit the architecture: ${parts.join('; ')}`);
  }
  const views = model.namedParameters();
  const rounded: string[] = [];
  for (const s of slots) {
    const info = reader.info(s.name)!;
    if (info.shape.length !== s.shape.length || info.shape.some((d, i) => d !== s.shape[i])) {
      fail(`tensor "${s.name}" has shape [${info.shape.join(', ')}], the architecture needs [${s.shape.join(', ')}]`);
    }
    if (await reader.readInto(s.name, views[s.name]!.data) === 'F64') rounded.push(s.name);
  }
  model.train(meta.training !== 'false');
  const metadata = { ...meta };
  if (rounded.length > 0) metadata.rounded_from_f64 = rounded.join(',');
  rememberInfo(model, { metadata, source: name });
  return model;
}
