/**
 * TensorFlow.js / Keras Layers model import: a `model.json` (format "layers-model": the Keras
 * topology and a weights manifest) and its binary weight shards become a Sequential here.
 *
 * Supported: a Sequential (or a linear Functional chain) of InputLayer, Embedding, LSTM (tanh and
 * sigmoid activations, `return_sequences` either way), Bidirectional(LSTM) with merge_mode "concat",
 * Dense with a linear activation, and Dropout. Keras' LSTM has the gate order i, f, c, o (the same as
 * PyTorch's i, f, g, o), kernels stored (in, 4H), one bias: here weight_ih = kernel^T,
 * weight_hh = recurrent_kernel^T, bias_ih = bias, bias_hh = 0. Anything else (hard_sigmoid, stateful
 * layers, go_backwards outside Bidirectional, masking, other layer types, quantized weights) is an
 * error naming the layer and the reason. Dropout inside an LSTM (`dropout`, `recurrent_dropout`) only
 * acts in training; it is left out and listed in the kept metadata (`tfjs_ignored`).
 */
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { describe, LstmError } from '../errors.js';
import { Dropout } from '../layers/dropout.js';
import { Embedding } from '../layers/embedding.js';
import { Linear } from '../layers/linear.js';
import { LSTM } from '../layers/lstm.js';
import type { Module } from '../layers/module.js';
import { Sequential } from '../layers/sequential.js';
import { openFileSource, type AsyncByteSource } from './file-source.js';
import { rememberInfo } from './model-info.js';
import { show } from './safetensors.js';

/** Largest model.json read, in bytes (a topology is kilobytes; the limit stops a runaway read). */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
/** Largest size option accepted from a topology. */
const MAX_SIZE = 2 ** 31 - 1;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** True when `src` names a TensorFlow.js model.json (by its extension; its content is checked when read). */
export async function isTfjsModelSource(src: unknown): Promise<boolean> {
  return typeof src === 'string' && src.toLowerCase().endsWith('.json');
}

/** One weight of the manifest with its bytes' place in the concatenated shards. */
interface WeightSpec {
  name: string;
  shape: number[];
  offset: number;
  count: number;
}

/** A layer of the topology turned into a module here, with how to fill its parameters. */
interface Built {
  name: string;
  module: Module;
  /** Fills the module's parameters from the named weights. */
  load(take: (suffix: string, shape: number[]) => Float32Array): void;
}

class TfjsImport {
  readonly ignored: string[] = [];
  /** Parameters the weight shards hold, not yet claimed by a layer: no layer may allocate more. */
  budget = 0;
  constructor(readonly path: string) {}

  /** Claims `count` parameters for a layer before it is built (a topology cannot ask for more than the shards hold). */
  reserve(layer: string, count: number): void {
    if (!(count <= this.budget)) {
      this.layerFail(layer, `needs ${count} parameters, more than the weight shards hold (${this.budget} left)`);
    }
    this.budget -= count;
  }

  fail(what: string): never {
    throw new LstmError(`loadModel: ${this.path}: ${what}`, 'ERR_LSTM_FILE');
  }

  layerFail(layer: string, what: string): never {
    return this.fail(`layer "${layer}": ${what}`);
  }

  size(layer: string, config: Json, key: string): number {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_SIZE) {
      this.layerFail(layer, `${key} must be an integer in [1, ${MAX_SIZE}], got ${show(v)}`);
    }
    return v as number;
  }

  /** Reads `activation`-like options: Keras names ('sigmoid') and tfjs names ('hardSigmoid') alike. */
  activation(config: Json, key: string, dflt: string): string {
    const v = config[key] ?? dflt;
    return typeof v === 'string' ? v.replace(/_(.)/g, (_, c: string) => c.toUpperCase()) : String(show(v));
  }

  lstm(layer: string, config: Json, bidirectional: boolean, inputSize: number | null): Built {
    const units = this.size(layer, config, 'units');
    const act = this.activation(config, 'activation', 'tanh');
    if (act !== 'tanh') this.layerFail(layer, `activation "${act}" is not supported (the LSTM here uses tanh)`);
    // tfjs' default recurrent activation is hardSigmoid, Keras' is sigmoid.
    const rec = this.activation(config, 'recurrent_activation', 'hardSigmoid');
    if (rec !== 'sigmoid') {
      this.layerFail(layer, `recurrent_activation "${rec}" is not supported (the LSTM here uses sigmoid gates; `
        + 'hard_sigmoid is a different function)');
    }
    if (config.stateful === true) this.layerFail(layer, 'stateful LSTMs are not supported (state is passed explicitly here)');
    if (config.return_state === true) this.layerFail(layer, 'return_state is not supported in a Sequential');
    if (config.go_backwards === true && !bidirectional) {
      this.layerFail(layer, 'go_backwards outside Bidirectional is not supported (its outputs run backwards in time)');
    }
    if (config.use_bias === false) this.layerFail(layer, 'use_bias false is not supported (the LSTM here always has biases)');
    for (const key of ['dropout', 'recurrent_dropout']) {
      const v = config[key];
      if (v !== undefined && v !== null && v !== 0) {
        if (typeof v !== 'number' || !(v > 0 && v < 1)) this.layerFail(layer, `${key} must be a number in [0, 1), got ${show(v)}`);
        this.ignored.push(`${layer}.${key}=${v} (training only)`);
      }
    }
    if (inputSize === null) this.layerFail(layer, 'its input size is unknown (no InputLayer, batch_input_shape or Embedding before it)');
    const returnSequences = config.return_sequences === true;
    this.reserve(layer, (bidirectional ? 2 : 1) * 4 * units * (inputSize + units + 1));
    const lstm = new LSTM({ inputSize, hiddenSize: units, bidirectional, batchFirst: true, returnSequences, seed: 0 });
    const H = units;
    return {
      name: layer,
      module: lstm,
      load: (take) => {
        const p = lstm.namedParameters();
        for (const [dir, sfx] of (bidirectional ? [['forward', ''], ['backward', '_reverse']] : [['', '']]) as [string, string][]) {
          const scope = dir ? `${dir}/` : '';
          transposeInto(take(`${scope}kernel`, [inputSize, 4 * H]), inputSize, 4 * H, p[`weight_ih_l0${sfx}`]!.data);
          transposeInto(take(`${scope}recurrent_kernel`, [H, 4 * H]), H, 4 * H, p[`weight_hh_l0${sfx}`]!.data);
          p[`bias_ih_l0${sfx}`]!.data.set(take(`${scope}bias`, [4 * H]));
          p[`bias_hh_l0${sfx}`]!.data.fill(0);
        }
      },
    };
  }

  layer(className: string, config: Json, inputSize: number | 'tokens' | null): Built | null {
    const name = typeof config.name === 'string' ? config.name : className;
    const features = inputSize === 'tokens' ? null : inputSize;
    switch (className) {
      case 'InputLayer':
        return null;
      case 'Embedding': {
        const V = this.size(name, config, 'input_dim');
        const E = this.size(name, config, 'output_dim');
        if (config.mask_zero === true) this.layerFail(name, 'mask_zero is not supported (pass sequence lengths instead)');
        this.reserve(name, V * E);
        const embed = new Embedding({ numEmbeddings: V, embeddingDim: E, seed: 0 });
        return { name, module: embed, load: (take) => embed.namedParameters().weight!.data.set(take('embeddings', [V, E])) };
      }
      case 'LSTM':
        return this.lstm(name, config, false, features);
      case 'Bidirectional': {
        const inner = config.layer;
        if (!isObject(inner) || inner.class_name !== 'LSTM' || !isObject(inner.config)) {
          this.layerFail(name, `Bidirectional wraps ${show(isObject(inner) ? inner.class_name : inner)}; only LSTM is supported`);
        }
        const mode = config.merge_mode ?? 'concat';
        if (mode !== 'concat') this.layerFail(name, `merge_mode "${show(mode)}" is not supported (only "concat")`);
        if ((inner.config as Json).go_backwards === true) this.layerFail(name, 'the wrapped LSTM has go_backwards set');
        const built = this.lstm(name, inner.config as Json, true, features);
        return built;
      }
      case 'Dense': {
        const units = this.size(name, config, 'units');
        const act = this.activation(config, 'activation', 'linear');
        if (act !== 'linear') {
          this.layerFail(name, `activation "${act}" is not supported (Dense loads as a Linear layer; apply ${act} to its output)`);
        }
        if (features === null) this.layerFail(name, 'its input size is unknown');
        const useBias = config.use_bias !== false;
        this.reserve(name, features * units + (useBias ? units : 0));
        const linear = new Linear({ inFeatures: features, outFeatures: units, bias: useBias, seed: 0 });
        return {
          name, module: linear,
          load: (take) => {
            const p = linear.namedParameters();
            transposeInto(take('kernel', [features, units]), features, units, p.weight!.data);
            if (useBias) p.bias!.data.set(take('bias', [units]));
          },
        };
      }
      case 'Dropout': {
        const rate = config.rate;
        if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) this.layerFail(name, `rate must be a number in [0, 1), got ${show(rate)}`);
        return { name, module: new Dropout({ p: rate, seed: 0 }), load: () => undefined };
      }
      default:
        return this.layerFail(name, `layer type ${show(className)} is not supported (supported: InputLayer, Embedding, `
          + 'LSTM, Bidirectional(LSTM), Dense with a linear activation, Dropout)');
    }
  }
}

/** dst (cols, rows) = src (rows, cols)^T. */
function transposeInto(src: Float32Array, rows: number, cols: number, dst: Float32Array): void {
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c]!;
}

/** The feature size a topology's first layer declares (batch_input_shape / batchInputShape [null, T, F]). */
function declaredInput(config: Json): number | null {
  const shape = config.batch_input_shape ?? config.batchInputShape ?? config.batch_shape;
  if (Array.isArray(shape) && shape.length === 3 && typeof shape[2] === 'number') return shape[2];
  return null;
}

/** The list of {class_name, config} layers of a Sequential or linear Functional topology. */
function layersOf(imp: TfjsImport, topology: unknown): Json[] {
  if (!isObject(topology)) return imp.fail(`modelTopology must be an object, got ${describe(topology)}`);
  const model = isObject(topology.model_config) ? topology.model_config : topology;
  const cls = model.class_name;
  const config = model.config;
  let layers: unknown;
  if (cls === 'Sequential') layers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  else if (cls === 'Model' || cls === 'Functional') layers = isObject(config) ? config.layers : undefined;
  else return imp.fail(`the model is a ${show(cls)}; only Sequential models (or a chain of layers) are supported`);
  if (!Array.isArray(layers) || layers.length === 0) return imp.fail('the topology has no layers');
  const checked = layers.map((l: unknown, i) => {
    if (!isObject(l) || typeof l.class_name !== 'string' || !isObject(l.config)) {
      return imp.fail(`layers[${i}] must be {class_name, config}, got ${show(l)}`);
    }
    return l;
  });
  if (cls !== 'Sequential') {
    // A chain only: each layer takes the output of the one before it.
    checked.forEach((l, i) => {
      const inbound = l.inbound_nodes;
      const from: unknown = Array.isArray(inbound) && Array.isArray(inbound[0]) ? inbound[0] : [];
      if (i > 0 && (!Array.isArray(from) || from.length !== 1 || !Array.isArray(from[0]) || from[0][0] !== checked[i - 1]!.name)) {
        imp.fail(`layer ${show(l.name ?? i)}: only a chain of layers is supported, each taking the previous one's output`);
      }
    });
  }
  return checked;
}

/** Reads the manifest's weights from the shards: name -> float32 values. */
async function readWeights(imp: TfjsImport, manifest: unknown, dir: string): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  if (!Array.isArray(manifest)) return imp.fail(`weightsManifest must be an array, got ${describe(manifest)}`);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [g, group] of manifest.entries()) {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      imp.fail(`weightsManifest[${g}] must be {paths, weights}, got ${show(group)}`);
    }
    const specs: WeightSpec[] = [];
    let total = 0;
    for (const [i, w] of (group.weights as unknown[]).entries()) {
      if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape)
        || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        imp.fail(`weightsManifest[${g}].weights[${i}] must be {name, shape, dtype}, got ${show(w)}`);
      }
      const ws = w as { name: string; shape: number[]; dtype?: unknown; quantization?: unknown };
      if (ws.quantization !== undefined) imp.fail(`weight "${ws.name}": quantized weights are not supported`);
      if (ws.dtype !== 'float32') imp.fail(`weight "${ws.name}": dtype ${show(ws.dtype)} is not supported (float32 only)`);
      const count = ws.shape.reduce((a, b) => a * b, 1);
      if (!Number.isSafeInteger(count * 4)) imp.fail(`weight "${ws.name}": shape [${ws.shape.join(', ')}] is too large`);
      if (out.has(ws.name) || specs.some((s) => s.name === ws.name)) imp.fail(`weight "${ws.name}" appears twice`);
      specs.push({ name: ws.name, shape: [...ws.shape], offset: total, count });
      total += count * 4;
    }
    // The group's shards, concatenated, hold its weights back to back.
    const sources: AsyncByteSource[] = [];
    try {
      let size = 0;
      for (const p of group.paths as unknown[]) {
        if (typeof p !== 'string' || p === '' || isAbsolute(p) || normalize(p).split(/[\\/]/).includes('..')) {
          imp.fail(`weightsManifest[${g}].paths has ${show(p)}; shard paths must be relative and stay in the model's folder`);
        }
        const shardPath = join(dir, normalize(p as string).split('/').join(sep));
        let src: AsyncByteSource;
        try {
          src = await openFileSource('loadModel', shardPath);
        } catch (err) {
          const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (err as Error).message;
          return imp.fail(`the weight shard ${shardPath} of weightsManifest[${g}] ${why}`);
        }
        sources.push(src);
        size += src.size;
      }
      if (size !== total) {
        imp.fail(`the shards of weightsManifest[${g}] hold ${size} bytes, its weights need ${total} (truncated or wrong shards?)`);
      }
      const bytes = new Uint8Array(total);
      let at = 0;
      for (const src of sources) {
        await src.read(0, bytes.subarray(at, at + src.size));
        at += src.size;
      }
      for (const s of specs) {
        const data = new Float32Array(s.count);
        new Uint8Array(data.buffer).set(bytes.subarray(s.offset, s.offset + s.count * 4));
        out.set(s.name, { shape: s.shape, data });
      }
    } finally {
      for (const src of sources) await src.close();
    }
  }
  return out;
}

/**
 * Loads a TensorFlow.js Layers model (model.json and its weight shards) as a Sequential whose layer
 * names are the Keras layer names. @internal (through loadModel)
 * @throws LstmError ERR_LSTM_FILE naming the file, and the layer where one is at fault.
 */
export async function loadTfjsModel(path: string, weightsDir?: string): Promise<Module> {
  const imp = new TfjsImport(path);
  const src = await openFileSource('loadModel', path);
  let text: string;
  try {
    if (src.size > MAX_MODEL_JSON_BYTES) imp.fail(`the model.json is ${src.size} bytes, over the ${MAX_MODEL_JSON_BYTES} limit`);
    const bytes = new Uint8Array(src.size);
    await src.read(0, bytes);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return imp.fail('the model.json is not valid UTF-8');
    }
  } finally {
    await src.close();
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return imp.fail(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(json)) return imp.fail(`the model.json must be an object, got ${show(json)}`);
  if (json.format !== undefined && json.format !== 'layers-model') {
    imp.fail(`format is ${show(json.format)}; only TensorFlow.js Layers models ("layers-model") are supported`);
  }
  const layers = layersOf(imp, json.modelTopology);
  const weights = await readWeights(imp, json.weightsManifest, weightsDir ?? dirname(path));
  for (const w of weights.values()) imp.budget += w.data.length;

  // Build the layers, following the feature size from one to the next.
  const built: Built[] = [];
  let flow: number | 'tokens' | null = declaredInput(layers[0]!.config as Json);
  for (const l of layers) {
    const cfg = l.config as Json;
    const b = imp.layer(l.class_name as string, cfg, flow);
    if (b === null) {
      flow = declaredInput(cfg) ?? flow;
      continue;
    }
    if (!(b.module instanceof Dropout)) {
      const out = b.module.outputFeatures({ kind: 'features', size: null });
      flow = out.kind === 'features' ? out.size : 'tokens';
    }
    built.push(b);
  }
  if (built.length === 0) imp.fail('the model has no layers with parameters or effects');

  const used = new Set<string>();
  for (const b of built) {
    b.load((suffix, shape) => {
      // Weight names are "<layer>/.../<suffix>" (tfjs adds scopes such as "lstm_cell" or "forward_lstm").
      const dirPart = suffix.includes('/') ? suffix.split('/')[0]! : null;
      const leaf = suffix.split('/').pop()!;
      const matches = [...weights.keys()].filter((n) => {
        const parts = n.split('/');
        return parts[0] === b.name && parts[parts.length - 1] === leaf && !used.has(n)
          && (dirPart === null || parts.slice(1, -1).some((p) => p.startsWith(dirPart)));
      });
      if (matches.length !== 1) {
        imp.layerFail(b.name, matches.length === 0 ? `the weights have no "${suffix}" for it`
          : `the weights have ${matches.length} candidates for "${suffix}": ${matches.join(', ')}`);
      }
      const w = weights.get(matches[0]!)!;
      if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
        imp.layerFail(b.name, `weight "${matches[0]}" has shape [${w.shape.join(', ')}], expected [${shape.join(', ')}]`);
      }
      used.add(matches[0]!);
      return w.data;
    });
  }
  const left = [...weights.keys()].filter((n) => !used.has(n));
  if (left.length) imp.fail(`weights that belong to no supported layer: ${left.slice(0, 8).join(', ')}`);

  const named: Record<string, Module> = {};
  const taken = new Set<string>();
  for (const [i, b] of built.entries()) {
    let n = b.name.replace(/[^A-Za-z0-9_]/g, '_');
    if (/^[0-9]+$/.test(n) || taken.has(n)) n = `layer${i}_${n}`;
    taken.add(n);
    named[n] = b.module;
  }
  let model: Sequential;
  try {
    model = new Sequential(named);
  } catch (err) {
    return imp.fail(`the layers do not chain: ${(err as Error).message}`);
  }
  model.eval();
  const metadata: Record<string, string> = { source_format: 'tfjs-layers-model' };
  if (imp.ignored.length) metadata.tfjs_ignored = imp.ignored.join('; ');
  rememberInfo(model, { metadata, source: path });
  return model;
}
