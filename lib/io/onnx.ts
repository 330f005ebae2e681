/**
 * ONNX export: a model becomes an ONNX graph that ONNX Runtime runs with this package's numbers.
 * Encoded with protobufjs from the official onnx.proto (proto/onnx.proto), never by hand.
 *
 * - Embedding: `Gather(weight, ids)`; ids are int64.
 * - Linear: `MatMul(x, weight^T)` then `Add(bias)`, on any number of leading dims.
 * - LSTM: one ONNX `LSTM` node per layer (gate order i, o, f, c, so PyTorch's i, f, g, o rows are
 *   reordered; B = [bias_ih, bias_hh] per direction), time-major (ONNX Runtime refuses `layout = 1`)
 *   with a Transpose before and after for batchFirst, Y [T, D, B, H] turned back into [T, B, D*H]
 *   for the next layer; `returnSequences: false` takes Y_h of the last layer. A projection (projSize)
 *   is refused: ONNX's LSTM has none.
 * - Dropout: the identity (an exported graph is for inference).
 * The batch and time dimensions are dynamic (`batch`, `time`). With `lengths: true` the graph takes
 * an int32 `lengths` [batch] input, fed to every LSTM as `sequence_lens`.
 */
import fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, LstmError, rangeError, typeError } from '../errors.js';
import { Dropout } from '../layers/dropout.js';
import { Embedding } from '../layers/embedding.js';
import { Linear } from '../layers/linear.js';
import { LSTM } from '../layers/lstm.js';
import { Module } from '../layers/module.js';
import { Sequential } from '../layers/sequential.js';
import { checkBoolean, checkInteger, checkOptions } from '../validate.js';
import { sequentialLayers } from './architecture.js';
import { writeFileAtomic } from './atomic-write.js';

/** Options of {@link exportOnnx}. */
export interface ExportOnnxOptions {
  /** ONNX opset version, in [14, 21] (LSTM's newest definition is from opset 14). Default 17. */
  opset?: number;
  /** Add an int32 `lengths` [batch] input, the valid steps of each sequence (PyTorch's packed-sequence semantics). Default false. */
  lengths?: boolean;
}

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

let modelType: protobuf.Type | undefined;

/** Finds proto/onnx.proto from this module's folder (lib/io/ when run from sources, dist/ when bundled). */
function onnxProtoPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4; up++) {
    const candidate = join(dir, 'proto', 'onnx.proto');
    if (fs.existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new LstmError('exportOnnx: proto/onnx.proto is missing from the package (a broken install?)', 'ERR_LSTM_STATE');
}

function ModelProto(): protobuf.Type {
  modelType ??= protobuf.loadSync(onnxProtoPath()).lookupType('onnx.ModelProto');
  return modelType;
}

type Dim = number | string;
interface TensorProto { name: string; dims: number[]; dataType: number; rawData: Uint8Array }
interface NodeProto { opType: string; name: string; input: string[]; output: string[]; attribute: object[] }
interface ValueInfo { name: string; type: object }

function bytesOf(a: Float32Array | BigInt64Array | Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function valueInfo(name: string, elemType: number, dims: Dim[]): ValueInfo {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/** Builds the graph node by node; names are unique by construction. */
class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private count = 0;

  fresh(base: string): string {
    return `${base}_${this.count++}`;
  }

  constant(name: string, data: Float32Array | BigInt64Array, dims: number[]): string {
    this.initializers.push({ name, dims, dataType: data instanceof Float32Array ? FLOAT : INT64, rawData: bytesOf(data.slice()) });
    return name;
  }

  node(opType: string, input: string[], attrs: Record<string, number | number[] | string> = {}, outputs = 1): string[] {
    const name = this.fresh(opType);
    const output = Array.from({ length: outputs }, (_, i) => `${name}_out${i}`);
    const attribute = Object.entries(attrs).map(([n, v]) => {
      if (Array.isArray(v)) return { name: n, type: ATTR.INTS, ints: v };
      if (typeof v === 'string') return { name: n, type: ATTR.STRING, s: new TextEncoder().encode(v) };
      return Number.isInteger(v) ? { name: n, type: ATTR.INT, i: v } : { name: n, type: ATTR.FLOAT, f: v };
    });
    this.nodes.push({ opType, name, input, output, attribute });
    return output;
  }
}

/** Tracks where the activations are and how they are laid out between layers. */
interface Flow {
  value: string;
  /** [B, T, F] (batch-major), [T, B, F] (time-major) or [B, F] (one step per sequence). */
  layout: 'bt' | 'tb' | 'b';
}

/** PyTorch's gate blocks i, f, g, o reordered to ONNX's i, o, f, c, for a (4H, cols) matrix or a (4H) vector. */
function toIofc(src: Float32Array, H: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  const block = H * cols;
  [0, 3, 1, 2].forEach((from, to) => out.set(src.subarray(from * block, (from + 1) * block), to * block));
  return out;
}

function flatten(model: Module, where: string, prefix = ''): [string, Module][] {
  if (model instanceof Sequential) return sequentialLayers(model).flatMap(([name, layer]) => flatten(layer, where, `${prefix}${name}.`));
  if (model instanceof LSTM || model instanceof Linear || model instanceof Embedding || model instanceof Dropout) {
    return [[prefix.replace(/\.$/, '') || model.constructor.name.toLowerCase(), model]];
  }
  throw typeError(`${where}: cannot export a module of class ${model.constructor.name} (supported: LSTM, Linear, Embedding, Dropout, Sequential)`);
}

function emitLstm(g: GraphBuilder, name: string, lstm: LSTM, flow: Flow, lengths: string | null, where: string,
  standalone: boolean): { flow: Flow; h?: string; c?: string } {
  if (lstm.projSize > 0) {
    throw rangeError(`${where}: layer "${name}" has projSize ${lstm.projSize}; ONNX's LSTM operator has no projection, so it cannot be exported`);
  }
  if (flow.layout === 'b') throw rangeError(`${where}: layer "${name}" gets one step per sequence; an LSTM needs sequences`);
  const H = lstm.hiddenSize;
  const D = lstm.bidirectional ? 2 : 1;
  const p = lstm.namedParameters();
  let x = flow.layout === 'bt' ? g.node('Transpose', [flow.value], { perm: [1, 0, 2] })[0]! : flow.value;
  const hs: string[] = [];
  const cs: string[] = [];
  let lastYh = '';
  for (let l = 0; l < lstm.numLayers; l++) {
    const I = l === 0 ? lstm.inputSize : D * H;
    const W = new Float32Array(D * 4 * H * I);
    const R = new Float32Array(D * 4 * H * H);
    const B = new Float32Array(D * 8 * H);
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
      W.set(toIofc(p[`weight_ih${sfx}`]!.data, H, I), d * 4 * H * I);
      R.set(toIofc(p[`weight_hh${sfx}`]!.data, H, H), d * 4 * H * H);
      B.set(toIofc(p[`bias_ih${sfx}`]!.data, H, 1), d * 8 * H);
      B.set(toIofc(p[`bias_hh${sfx}`]!.data, H, 1), d * 8 * H + 4 * H);
    }
    const base = `${name}.l${l}`;
    const inputs = [x, g.constant(`${base}.W`, W, [D, 4 * H, I]), g.constant(`${base}.R`, R, [D, 4 * H, H]),
      g.constant(`${base}.B`, B, [D, 8 * H])];
    if (lengths !== null) inputs.push(lengths);
    const [Y, Yh, Yc] = g.node('LSTM', inputs, { hidden_size: H, direction: D === 2 ? 'bidirectional' : 'forward' }, 3);
    hs.push(Yh!);
    cs.push(Yc!);
    lastYh = Yh!;
    // Y (T, D, B, H) -> (T, B, D, H) -> (T, B, D*H)
    const t = g.node('Transpose', [Y!], { perm: [0, 2, 1, 3] })[0]!;
    x = g.node('Reshape', [t, g.constant(g.fresh('shape_tb'), BigInt64Array.from([0n, 0n, -1n]), [3])])[0]!;
  }
  const out: { flow: Flow; h?: string; c?: string } = { flow: { value: x, layout: 'tb' } };
  if (standalone) {
    out.h = hs.length === 1 ? hs[0]! : g.node('Concat', hs, { axis: 0 })[0]!;
    out.c = cs.length === 1 ? cs[0]! : g.node('Concat', cs, { axis: 0 })[0]!;
  }
  if (!lstm.returnSequences && !standalone) {
    // Y_h (D, B, H) -> (B, D, H) -> (B, D*H): the forward direction's last valid step, the reverse's first.
    const t = g.node('Transpose', [lastYh], { perm: [1, 0, 2] })[0]!;
    out.flow = { value: g.node('Reshape', [t, g.constant(g.fresh('shape_b'), BigInt64Array.from([0n, -1n]), [2])])[0]!, layout: 'b' };
  } else if (lstm.batchFirst) {
    out.flow = { value: g.node('Transpose', [x], { perm: [1, 0, 2] })[0]!, layout: 'bt' };
  }
  return out;
}

/**
 * Exports a model to an ONNX file (written atomically) that ONNX Runtime runs with the same outputs.
 * Inputs: `input` (int64 token ids for a model starting with an Embedding, else float32 features,
 * shaped as the model's forward takes them, batch and time dynamic) and, with `lengths: true`, int32
 * `lengths` [batch]. Outputs: `output` (as forward returns it; for a Sequential, with each LSTM's
 * returnSequences), and for a lone LSTM also `h` and `c` (numLayers*D, batch, hiddenSize).
 * @throws TypeError for a module type that cannot be exported; RangeError for an LSTM with a
 *   projection or a bad option; LstmError ERR_LSTM_FILE naming the path when the write fails.
 */
export async function exportOnnx(model: Module, path: string, options?: ExportOnnxOptions): Promise<void> {
  const bytes = encodeOnnx(model, options, 'exportOnnx');
  if (typeof path !== 'string' || path === '') throw typeError(`exportOnnx: path must be a non-empty string, got ${describe(path)}`);
  await writeFileAtomic('exportOnnx', path, [bytes]);
}

/**
 * The bytes of the ONNX model {@link exportOnnx} writes.
 * @throws as {@link exportOnnx}, except for writing.
 */
export function encodeOnnx(model: Module, options?: ExportOnnxOptions, where = 'encodeOnnx'): Uint8Array {
  if (!(model instanceof Module)) throw typeError(`${where}: model must be a layer or a Sequential, got ${describe(model)}`);
  const o = checkOptions(where, options, ['opset', 'lengths']);
  const opset = checkInteger(where, 'opset', o.opset ?? 17, 14, 21);
  const withLengths = checkBoolean(where, 'lengths', o.lengths ?? false);
  const layers = flatten(model, where);
  const g = new GraphBuilder();
  const first = layers.find(([, m]) => !(m instanceof Dropout))?.[1];
  if (first === undefined) throw rangeError(`${where}: the model has no layer to export (only Dropout)`);

  // The input is laid out as the first LSTM reads it (batch-major with batchFirst), or (batch, features)
  // for a model without an LSTM.
  const firstLstm = layers.find(([, m]) => m instanceof LSTM)?.[1] as LSTM | undefined;
  const layout: Flow['layout'] = firstLstm === undefined ? (first instanceof Embedding ? 'bt' : 'b') : firstLstm.batchFirst ? 'bt' : 'tb';
  const lead: Dim[] = layout === 'b' ? ['batch'] : layout === 'bt' ? ['batch', 'time'] : ['time', 'batch'];
  const inputs: ValueInfo[] = [];
  if (first instanceof Embedding) inputs.push(valueInfo('input', INT64, lead));
  else inputs.push(valueInfo('input', FLOAT, [...lead, first instanceof LSTM ? first.inputSize : (first as Linear).inFeatures]));
  let flow: Flow = { value: 'input', layout };
  const lengths = withLengths ? 'lengths' : null;
  if (lengths) inputs.push(valueInfo('lengths', INT32, ['batch']));

  const standalone = model instanceof LSTM;
  let states: { h?: string; c?: string } = {};
  for (const [name, layer] of layers) {
    if (layer instanceof Dropout) continue;
    if (layer instanceof Embedding) {
      const w = g.constant(`${name}.weight`, layer.namedParameters().weight!.data, [layer.numEmbeddings, layer.embeddingDim]);
      flow = { value: g.node('Gather', [w, flow.value], { axis: 0 })[0]!, layout: flow.layout };
    } else if (layer instanceof Linear) {
      const p = layer.namedParameters();
      const wt = new Float32Array(layer.inFeatures * layer.outFeatures);
      const w = p.weight!.data;
      for (let r = 0; r < layer.outFeatures; r++) for (let c = 0; c < layer.inFeatures; c++) wt[c * layer.outFeatures + r] = w[r * layer.inFeatures + c]!;
      let y = g.node('MatMul', [flow.value, g.constant(`${name}.weight_t`, wt, [layer.inFeatures, layer.outFeatures])])[0]!;
      if (p.bias) y = g.node('Add', [y, g.constant(`${name}.bias`, p.bias.data, [layer.outFeatures])])[0]!;
      flow = { value: y, layout: flow.layout };
    } else {
      const lstm = layer as LSTM;
      // A Sequential feeds an LSTM as its batchFirst option says.
      const r = emitLstm(g, name, lstm, { value: flow.value, layout: flow.layout === 'b' ? 'b' : lstm.batchFirst ? 'bt' : 'tb' },
        lengths, where, standalone);
      flow = r.flow;
      states = r;
    }
  }
  const outputDims = (f: Flow): Dim[] => (f.layout === 'b' ? ['batch', 'features'] : f.layout === 'bt' ? ['batch', 'time', 'features']
    : ['time', 'batch', 'features']);
  const nodesOut: ValueInfo[] = [];
  const rename = (value: string, to: string): void => {
    g.node('Identity', [value]);
    g.nodes[g.nodes.length - 1]!.output = [to];
  };
  rename(flow.value, 'output');
  nodesOut.push(valueInfo('output', FLOAT, outputDims(flow)));
  if (standalone && states.h && states.c) {
    rename(states.h, 'h');
    rename(states.c, 'c');
    nodesOut.push(valueInfo('h', FLOAT, ['states', 'batch', 'hidden']), valueInfo('c', FLOAT, ['states', 'batch', 'hidden']));
  }

  const Model = ModelProto();
  const message = Model.fromObject({
    irVersion: 8,
    producerName: 'lstm-native',
    opsetImport: [{ domain: '', version: opset }],
    graph: { name: 'lstm_native', node: g.nodes, initializer: g.initializers, input: inputs, output: nodesOut },
  });
  return Model.encode(message).finish();
}
