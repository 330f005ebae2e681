/**
 * In-memory data as samples: every input form `fit` and `predict` accept (ragged `number[][][]`,
 * a padded tensor with lengths, token ids) becomes one array per sequence holding its valid steps,
 * and every target form one array per sequence. Everything is checked here, before any training
 * work: counts, shapes, lengths, finiteness, class ids against the output size.
 * @internal
 */
import { describe, formatShape, rangeError, typeError } from '../errors.js';
import { isTensor, type Tensor, type TensorData } from '../tensor.js';
import type { ModelInfo } from './model-info.js';
import type { Lengths } from './types.js';

/** The inputs of N sequences: sample i holds lens[i] steps of featureSize values (token ids: 1). */
export interface Inputs {
  n: number;
  tokens: boolean;
  featureSize: number;
  xs: (Float32Array | Int32Array)[];
  lens: Int32Array;
}

/** The targets of N sequences: per sequence k values (class ids: 1), or per step lens[i] * k. */
export interface Targets {
  kind: 'class' | 'float';
  perStep: boolean;
  k: number;
  rows: (Float32Array | Int32Array)[];
}

export interface SampleSet {
  inputs: Inputs;
  targets: Targets | null;
}

function checkLengths(where: string, lengths: unknown, n: number, T: number): Int32Array {
  if (!(Array.isArray(lengths) || lengths instanceof Int32Array)) {
    throw typeError(`${where}: lengths must be an array of integers or an Int32Array, got ${describe(lengths)}`);
  }
  if (lengths.length !== n) throw rangeError(`${where}: lengths must have ${n} entries (one per sequence), got ${lengths.length}`, 'ERR_LSTM_SHAPE');
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v: unknown = lengths[i];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > T) {
      throw rangeError(`${where}: lengths[${i}] must be an integer in [1, ${T}] (T), got ${describe(v)}`);
    }
    out[i] = v;
  }
  return out;
}

function checkId(where: string, name: string, v: unknown, limit: number | null): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || (limit !== null && v >= limit)) {
    const range = limit === null ? 'an integer >= 0' : `an integer in [0, ${limit})`;
    throw (typeof v === 'number' ? rangeError : typeError)(`${where}: ${name} must be ${range}, got ${describe(v)}`);
  }
  return v;
}

function checkFeature(where: string, name: string, v: unknown): number {
  if (typeof v !== 'number') throw typeError(`${where}: ${name} must be a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw rangeError(`${where}: ${name} must be finite, got ${describe(v)}`);
  return v;
}

/** Checks and converts `x` (and `lengths` for a padded tensor). */
export function toInputs(where: string, x: unknown, lengths: Lengths | undefined, info: ModelInfo): Inputs {
  if (isTensor(x)) return tensorInputs(where, x, lengths, info);
  if (!Array.isArray(x)) {
    throw typeError(`${where}: x must be an array of sequences or a tensor${info.tokens ? ' of token ids' : ''}, got ${describe(x)}`);
  }
  if (x.length === 0) throw rangeError(`${where}: x must hold at least one sequence, got an empty array`);
  if (lengths !== undefined) {
    throw rangeError(`${where}: lengths applies to a padded tensor x; an array of sequences gives each its own length`);
  }
  const n = x.length;
  const xs: (Float32Array | Int32Array)[] = new Array(n);
  const lens = new Int32Array(n);
  const I = info.inputSize;
  let featureSize = info.tokens ? 1 : I ?? -1;
  for (let i = 0; i < n; i++) {
    const seq: unknown = x[i];
    if (!Array.isArray(seq)) throw typeError(`${where}: x[${i}] must be an array of ${info.tokens ? 'token ids' : 'steps'}, got ${describe(seq)}`);
    if (seq.length === 0) throw rangeError(`${where}: x[${i}] must have at least one step, got an empty array`);
    lens[i] = seq.length;
    if (info.tokens) {
      const ids = new Int32Array(seq.length);
      for (let t = 0; t < seq.length; t++) ids[t] = checkId(where, `x[${i}][${t}]`, seq[t], info.vocab);
      xs[i] = ids;
      continue;
    }
    for (let t = 0; t < seq.length; t++) {
      const step: unknown = seq[t];
      if (!Array.isArray(step)) throw typeError(`${where}: x[${i}][${t}] must be an array of features, got ${describe(step)}`);
      if (featureSize < 0) featureSize = step.length;
      if (step.length !== featureSize) {
        throw rangeError(`${where}: x[${i}][${t}] must have ${featureSize} features${I !== null ? ` (the model's inputSize)` : ''}, got ${step.length}`,
          'ERR_LSTM_SHAPE');
      }
    }
    const data = new Float32Array(seq.length * featureSize);
    for (let t = 0; t < seq.length; t++) {
      const step = seq[t] as unknown[];
      for (let f = 0; f < featureSize; f++) data[t * featureSize + f] = checkFeature(where, `x[${i}][${t}][${f}]`, step[f]);
    }
    xs[i] = data;
  }
  return { n, tokens: info.tokens, featureSize, xs, lens };
}

/** The checkFinite option: the first NaN or ±Infinity of sequence i, named as x[i, t, f]. */
function checkFiniteRows(where: string, data: Float32Array, i: number, featureSize: number): void {
  for (let k = 0; k < data.length; k++) {
    const v = data[k]!;
    if (v - v !== 0) {
      throw rangeError(`${where}: x[${i}, ${Math.floor(k / featureSize)}, ${k % featureSize}] must be finite (checkFinite), got ${v}`,
        'ERR_LSTM_NON_FINITE');
    }
  }
}

function tensorInputs(where: string, x: Tensor<TensorData>, lengths: Lengths | undefined, info: ModelInfo): Inputs {
  const shape = x.shape;
  if (x.data.length !== shape.reduce((a, b) => a * b, 1)) {
    throw rangeError(`${where}: x has shape ${formatShape(shape)} but its data has ${x.data.length} elements`, 'ERR_LSTM_SHAPE');
  }
  if (info.tokens) {
    if (!(x.data instanceof Int32Array)) throw typeError(`${where}: x.data must be an Int32Array of token ids (the model starts with an Embedding), got ${describe(x.data)}`);
    if (shape.length !== 2) throw rangeError(`${where}: x must have shape [N, T] (token ids), got ${formatShape(shape)}`, 'ERR_LSTM_SHAPE');
  } else {
    if (!(x.data instanceof Float32Array)) throw typeError(`${where}: x.data must be a Float32Array, got ${describe(x.data)}`);
    const I = info.inputSize;
    if (shape.length !== 3 || (I !== null && shape[2] !== I)) {
      throw rangeError(`${where}: x must have shape [N, T, ${I ?? 'I'}]${I !== null ? ` (inputSize ${I})` : ''}, got ${formatShape(shape)}`,
        'ERR_LSTM_SHAPE');
    }
  }
  const [n, T] = shape as [number, number];
  const featureSize = info.tokens ? 1 : shape[2]!;
  if (n === 0 || T === 0 || featureSize === 0) throw rangeError(`${where}: x must hold at least one sequence of one step, got shape ${formatShape(shape)}`);
  const lens = lengths === undefined ? new Int32Array(n).fill(T) : checkLengths(where, lengths, n, T);
  const xs: (Float32Array | Int32Array)[] = new Array(n);
  const stride = T * featureSize;
  for (let i = 0; i < n; i++) {
    xs[i] = x.data.subarray(i * stride, i * stride + lens[i]! * featureSize) as Float32Array | Int32Array;
    if (info.checkFinite === true && !info.tokens) checkFiniteRows(where, xs[i] as Float32Array, i, featureSize);
    if (info.tokens) {
      const ids = xs[i]!;
      for (let t = 0; t < ids.length; t++) checkId(where, `x[${i}, ${t}]`, ids[t], info.vocab);
    }
  }
  return { n, tokens: info.tokens, featureSize, xs, lens };
}

/**
 * The kind of targets: what the loss wants when it says, else class ids for an Int32Array tensor or
 * for arrays whose entries are bare numbers while the output has several features (a float target
 * of several features must be an array).
 */
export function targetKind(y: unknown, classLoss: boolean | null, info: ModelInfo): 'class' | 'float' {
  if (classLoss !== null) return classLoss ? 'class' : 'float';
  if (isTensor(y)) return y.data instanceof Int32Array ? 'class' : 'float';
  const first = info.perStep && Array.isArray(y) && Array.isArray(y[0]) ? y[0][0] : Array.isArray(y) ? y[0] : undefined;
  return typeof first === 'number' && info.outputSize !== 1 ? 'class' : 'float';
}

/**
 * Checks and converts `y` against the inputs: one target per sequence, or per valid step when the
 * model's output keeps the time axis; class ids in [0, outputSize), float rows of outputSize.
 */
export function toTargets(where: string, y: unknown, inputs: Inputs, info: ModelInfo, kind: 'class' | 'float'): Targets {
  const { n, lens } = inputs;
  const perStep = info.perStep;
  const C = info.outputSize;
  const k = kind === 'class' ? 1 : C ?? -1;
  const what = perStep ? 'per step' : 'per sequence';
  if (y === undefined || y === null) throw typeError(`${where}: y is required (the targets), got ${describe(y)}`);
  const rows: (Float32Array | Int32Array)[] = new Array(n);
  if (isTensor(y)) {
    if (kind === 'class' && !(y.data instanceof Int32Array)) {
      throw typeError(`${where}: y.data must be an Int32Array of class ids for this loss, got ${describe(y.data)}`);
    }
    if (kind === 'float' && !(y.data instanceof Float32Array)) {
      throw typeError(`${where}: y.data must be a Float32Array for this loss, got ${describe(y.data)}`);
    }
    const s = y.shape;
    if (s[0] !== n) throw rangeError(`${where}: x has ${n} sequences but y has ${s[0] ?? 0}`, 'ERR_LSTM_SHAPE');
    const base = perStep ? 2 : 1;
    let w = 1;
    let fits = kind === 'class' && s.length === base;
    if (kind === 'float' && s.length === base + 1 && (C === null || s[base] === C)) { w = s[base]!; fits = true; }
    if (kind === 'float' && s.length === base && C === 1) fits = true;
    if (!fits) {
      const expected = kind === 'class' ? (perStep ? '[N, T] class ids' : '[N] class ids') : perStep ? `[N, T, ${C ?? 'k'}]` : `[N, ${C ?? 'k'}]`;
      throw rangeError(`${where}: y must have shape ${expected} (targets ${what}, the model's output has ${C ?? 'any'} features), got ${formatShape(s)}`,
        'ERR_LSTM_SHAPE');
    }
    const T = perStep ? s[1]! : 1;
    for (let i = 0; i < n; i++) {
      if (perStep && lens[i]! > T) throw rangeError(`${where}: y has ${T} steps but sequence ${i} has ${lens[i]}`, 'ERR_LSTM_SHAPE');
      const at = i * T * w;
      rows[i] = y.data.subarray(at, at + (perStep ? lens[i]! : 1) * w) as Float32Array | Int32Array;
      if (kind === 'class') for (const v of rows[i]!) checkId(where, `y[${i}]`, v, C);
    }
    return { kind, perStep, k: w, rows };
  }
  if (!Array.isArray(y)) throw typeError(`${where}: y must be an array or a tensor, got ${describe(y)}`);
  if (y.length !== n) throw rangeError(`${where}: x has ${n} sequences but y has ${y.length}`, 'ERR_LSTM_SHAPE');
  let width = k;
  for (let i = 0; i < n; i++) {
    const row: unknown = y[i];
    if (!perStep) {
      rows[i] = kind === 'class' ? Int32Array.of(checkId(where, `y[${i}]`, row, C))
        : Float32Array.from(floatRow(where, `y[${i}]`, row, width, (w) => { width = w; }));
      continue;
    }
    if (!Array.isArray(row)) throw typeError(`${where}: y[${i}] must be an array of ${lens[i]} steps (targets ${what}), got ${describe(row)}`);
    if (row.length !== lens[i]) throw rangeError(`${where}: y[${i}] must have ${lens[i]} steps like x[${i}], got ${row.length}`, 'ERR_LSTM_SHAPE');
    if (kind === 'class') {
      rows[i] = Int32Array.from(row, (v, t) => checkId(where, `y[${i}][${t}]`, v, C));
    } else {
      const out: number[] = [];
      for (let t = 0; t < row.length; t++) out.push(...floatRow(where, `y[${i}][${t}]`, row[t], width, (w) => { width = w; }));
      rows[i] = Float32Array.from(out);
    }
  }
  return { kind, perStep, k: kind === 'class' ? 1 : width, rows };
}

/** One float target row: an array of `width` numbers, or a bare number when the output has one feature. */
function floatRow(where: string, name: string, row: unknown, width: number, setWidth: (w: number) => void): number[] {
  if (typeof row === 'number' && (width === 1 || width < 0)) {
    setWidth(1);
    return [checkFeature(where, name, row)];
  }
  if (!Array.isArray(row)) throw typeError(`${where}: ${name} must be an array of ${width < 0 ? 'k' : width} numbers, got ${describe(row)}`);
  if (width < 0) setWidth(row.length);
  else if (row.length !== width) {
    throw rangeError(`${where}: ${name} must have ${width} values (the model's output size), got ${row.length}`, 'ERR_LSTM_SHAPE');
  }
  return row.map((v, j) => checkFeature(where, `${name}[${j}]`, v));
}

/** The samples at `from` (inclusive) to `to` (exclusive). */
export function sliceSamples(set: SampleSet, from: number, to: number): SampleSet {
  const { inputs, targets } = set;
  return {
    inputs: { ...inputs, n: to - from, xs: inputs.xs.slice(from, to), lens: inputs.lens.slice(from, to) },
    targets: targets && { ...targets, rows: targets.rows.slice(from, to) },
  };
}
