/**
 * A model's architecture as plain JSON, and back: the module tree with every option of every
 * layer, as stored in a model file's `__metadata__.architecture` (docs/formats.md).
 *
 *   { "type": "Sequential", "layers": [["embed", {"type": "Embedding", "options": {...}}], ...] }
 *   { "type": "LSTM", "options": { "inputSize": 8, "hiddenSize": 16, ..., "returnSequences": true } }
 *
 * `buildModule` trusts nothing: a spec read from a file is checked for its shape, its layer types,
 * its option names and values (through each layer's own constructor) and its total size before a
 * single parameter is allocated.
 */
import { describe, typeError } from '../errors.js';
import { Dropout } from '../layers/dropout.js';
import { Embedding } from '../layers/embedding.js';
import { Linear } from '../layers/linear.js';
import { lstmLayout } from '../layers/lstm-layout.js';
import { LSTM } from '../layers/lstm.js';
import { Module } from '../layers/module.js';
import { Sequential } from '../layers/sequential.js';

/** One layer of a model: its type and its options (PyTorch's arguments in camelCase). */
export interface LayerSpec {
  type: 'LSTM' | 'Linear' | 'Embedding' | 'Dropout';
  options: Record<string, number | boolean | null>;
}

/** A Sequential: its named layers in order. */
export interface SequentialSpec {
  type: 'Sequential';
  layers: [string, ModuleSpec][];
}

/** The JSON description of a module tree. */
export type ModuleSpec = LayerSpec | SequentialSpec;

/** The layer types a model file may name. */
export const LAYER_TYPES = ['Sequential', 'LSTM', 'Linear', 'Embedding', 'Dropout'] as const;

/** Deepest nesting of Sequentials a file may describe (a model is a few levels deep; the limit stops recursion bombs). */
const MAX_DEPTH = 16;
/** Most layers a file may describe. */
const MAX_LAYERS = 10_000;

/** A Sequential's `[name, layer]` entries, untyped by its constructor argument. */
export function sequentialLayers(model: Sequential): ReadonlyArray<readonly [string, Module]> {
  return model.layers as unknown as ReadonlyArray<readonly [string, Module]>;
}

/** Why a spec cannot be built; the caller turns it into a file error naming the file. */
export class SpecError extends Error {}

/**
 * Describes a module as JSON: the whole tree and every option (the seed excepted: parameters are
 * stored, not re-drawn).
 * @throws TypeError for a module type this format cannot describe (a user-defined Module subclass).
 */
export function describeModule(module: Module, where = 'describeModule'): ModuleSpec {
  if (module instanceof Sequential) {
    return { type: 'Sequential', layers: sequentialLayers(module).map(([name, layer]) => [name, describeModule(layer, where)]) };
  }
  if (module instanceof LSTM) return { type: 'LSTM', options: { ...module.config() } };
  if (module instanceof Linear) return { type: 'Linear', options: { ...module.config() } };
  if (module instanceof Embedding) return { type: 'Embedding', options: { ...module.config() } };
  if (module instanceof Dropout) return { type: 'Dropout', options: { ...module.config() } };
  throw typeError(`${where}: cannot describe a ${describeKind(module)}: a model file holds ${LAYER_TYPES.join(', ')} `
    + 'and Sequentials of them');
}

function describeKind(value: unknown): string {
  return value instanceof Module ? `module of class ${value.constructor.name}` : describe(value);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Number of parameters a layer spec will allocate, from its options alone (NaN when they are not numbers). */
function parameterCount(spec: LayerSpec): number {
  const o = spec.options;
  const int = (k: string, dflt?: number): number => {
    const v = o[k] ?? dflt;
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : NaN;
  };
  switch (spec.type) {
    case 'LSTM': {
      const cfg = { inputSize: int('inputSize'), hiddenSize: int('hiddenSize'), numLayers: int('numLayers', 1),
        bidirectional: o.bidirectional === true, projSize: int('projSize', 0) };
      // Sizes past 2^31 or 10^6 layers are refused before the layout is even listed.
      if (![cfg.inputSize, cfg.hiddenSize, cfg.projSize].every((n) => n <= 2 ** 31) || !(cfg.numLayers <= 1e6)) return Infinity;
      return lstmLayout(cfg).size;
    }
    case 'Linear': return int('outFeatures') * int('inFeatures') + (o.bias === false ? 0 : int('outFeatures'));
    case 'Embedding': return int('numEmbeddings') * int('embeddingDim');
    case 'Dropout': return 0;
  }
}

/** Checks the JSON shape of a spec (recursively) and returns it typed; counts layers and parameters. */
function checkSpec(value: unknown, at: string, depth: number, totals: { layers: number; params: number }): ModuleSpec {
  if (!isPlainObject(value)) throw new SpecError(`${at} must be an object {type, ...}, got ${describe(value)}`);
  const type = value.type;
  if (typeof type !== 'string' || !(LAYER_TYPES as readonly string[]).includes(type)) {
    throw new SpecError(`${at}.type: unknown layer type ${describe(type)} (this version reads ${LAYER_TYPES.join(', ')})`);
  }
  if (++totals.layers > MAX_LAYERS) throw new SpecError(`the architecture has more than ${MAX_LAYERS} layers`);
  if (type === 'Sequential') {
    if (depth >= MAX_DEPTH) throw new SpecError(`${at}: Sequentials nested more than ${MAX_DEPTH} deep`);
    const extra = Object.keys(value).filter((k) => k !== 'type' && k !== 'layers');
    if (extra.length) throw new SpecError(`${at}: unknown key "${extra[0]}" in a Sequential (keys: type, layers)`);
    const layers = value.layers;
    if (!Array.isArray(layers) || layers.length === 0) {
      throw new SpecError(`${at}.layers must be a non-empty array of [name, module], got ${describe(layers)}`);
    }
    const out: [string, ModuleSpec][] = [];
    layers.forEach((entry: unknown, i) => {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') {
        throw new SpecError(`${at}.layers[${i}] must be [name, module], got ${describe(entry)}`);
      }
      out.push([entry[0], checkSpec(entry[1], `${at}.layers[${i}] ("${entry[0]}")`, depth + 1, totals)]);
    });
    return { type: 'Sequential', layers: out };
  }
  const extra = Object.keys(value).filter((k) => k !== 'type' && k !== 'options');
  if (extra.length) throw new SpecError(`${at}: unknown key "${extra[0]}" in a ${type} (keys: type, options)`);
  const options = value.options;
  if (!isPlainObject(options)) throw new SpecError(`${at}.options must be an object, got ${describe(options)}`);
  for (const [k, v] of Object.entries(options)) {
    if (k === 'seed') throw new SpecError(`${at}.options.seed: a model file stores parameters, not seeds`);
    if (v !== null && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new SpecError(`${at}.options.${k} must be a number, a boolean or null, got ${describe(v)}`);
    }
  }
  const spec = { type, options } as LayerSpec;
  // NaN: a size option is missing or not an integer; the layer's constructor will say which.
  const count = parameterCount(spec);
  if (!Number.isNaN(count)) totals.params += count;
  return spec;
}

/**
 * Checks a spec read from a file without allocating anything. `maxParameters` bounds the total
 * number of parameters (the caller passes what the file's tensors can hold).
 * @throws SpecError naming the place in the spec and the problem.
 */
export function checkModuleSpec(value: unknown, maxParameters: number): ModuleSpec {
  const totals = { layers: 0, params: 0 };
  const spec = checkSpec(value, 'architecture', 0, totals);
  if (totals.params > maxParameters) {
    throw new SpecError(`the architecture needs ${totals.params} parameters, more than the file's tensors hold (${maxParameters})`);
  }
  return spec;
}

/**
 * Builds the module a checked spec describes, with fixed seeds (the caller loads the parameters;
 * building never draws from the process-wide generator).
 * @throws SpecError naming the layer when its options are refused by its constructor.
 */
export function buildModule(spec: ModuleSpec, at = 'architecture'): Module {
  if (spec.type === 'Sequential') {
    const layers: Record<string, Module> = {};
    const names = new Set<string>();
    spec.layers.forEach(([name, child], i) => {
      if (names.has(name)) throw new SpecError(`${at}.layers[${i}]: the layer name "${name}" appears twice`);
      names.add(name);
      Object.defineProperty(layers, name, {
        value: buildModule(child, `${at}.layers[${i}] ("${name}")`), enumerable: true, configurable: true, writable: true,
      });
    });
    const built = construct(at, () => new Sequential(layers)) as Sequential;
    // An object puts integer-like keys first: refuse an order that cannot be rebuilt exactly.
    if (sequentialLayers(built).some(([name], i) => name !== spec.layers[i]![0])) {
      throw new SpecError(`${at}: the layer order ${spec.layers.map(([n]) => `"${n}"`).join(', ')} cannot be rebuilt `
        + '(names that are integers must be 0, 1, 2, ... and come first)');
    }
    return built;
  }
  const options: Record<string, unknown> = { ...spec.options, seed: 0 };
  switch (spec.type) {
    case 'LSTM': return construct(at, () => new LSTM(options as never));
    case 'Linear': return construct(at, () => new Linear(options as never));
    case 'Embedding': {
      if (options.paddingIdx === null) delete options.paddingIdx;
      return construct(at, () => new Embedding(options as never));
    }
    case 'Dropout': return construct(at, () => new Dropout(options as never));
  }
}

/** Runs a constructor and turns its argument error into a SpecError naming the layer. */
function construct(at: string, make: () => Module): Module {
  try {
    return make();
  } catch (err) {
    if (err instanceof SpecError) throw err;
    const message = (err as Error).message.replace(/^new \w+: /, '');
    throw new SpecError(`${at}: ${message}`);
  }
}
