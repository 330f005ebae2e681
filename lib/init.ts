/**
 * Parameter initialisation, as PyTorch's `torch.nn.init`: each function fills a tensor in place
 * (usually a live view from `namedParameters()`) from a {@link Random} generator (the
 * process-wide one when omitted, see `manualSeed`).
 *
 * A view of a model's parameters is written under the model's rules (see Parameters): refused with
 * ERR_LSTM_BUSY while an async call runs on the model, with ERR_LSTM_STATE when the view is stale
 * (taken before its layer moved into a Sequential); a write gives the parameters a new version, so a
 * backward of an earlier forward is refused.
 */
import { describe, rangeError, typeError } from './errors.js';
import { blockOf } from './parameters.js';
import { Random, freshSeed } from './random.js';
import { checkTensor, type Tensor } from './tensor.js';
import { checkFinite, checkNumber, checkOptions } from './validate.js';

/** Options shared by the initialisers. */
export interface InitOptions {
  /** The generator; default: a new one seeded from the process-wide generator. */
  rng?: Random;
  /** Scale factor (PyTorch's `gain`), a finite number >= 0. Default 1. */
  gain?: number;
}

/** Options of {@link kaimingUniform}: the gain comes from `a`. */
export interface KaimingOptions {
  /** The generator; default: a new one seeded from the process-wide generator. */
  rng?: Random;
  /** Negative slope of the rectifier after this layer (PyTorch's `a`); default 0. */
  a?: number;
}

/** Checks the tensor to fill (any shape, float32) and that its model, if any, may be written now. */
function target(where: string, t: unknown): Tensor {
  const shape = (t as { shape?: unknown } | null)?.shape;
  const x = checkTensor(where, 'tensor', t, Array.isArray(shape) ? shape.map(() => null) : [], Float32Array);
  blockOf(x.data)?.assertWritable(where);
  return x;
}

/** Gives the model whose view `t` is (if any) a new parameter version; returns t. */
function written(t: Tensor): Tensor {
  blockOf(t.data)?.touch();
  return t;
}

/** The checked options: the generator (a fresh one when omitted) and the gain. */
function options(where: string, o: unknown, known: readonly string[] = ['rng', 'gain']): { rng: Random; gain: number; a: number } {
  const opts = checkOptions(where, o, known);
  if (opts.rng !== undefined && !(opts.rng instanceof Random)) {
    throw typeError(`${where}: rng must be a Random (new Random(seed)), got ${describe(opts.rng)}`);
  }
  return {
    rng: (opts.rng as Random | undefined) ?? new Random(freshSeed()),
    gain: opts.gain === undefined ? 1 : checkFinite(where, 'gain', opts.gain, '>= 0', (v) => v >= 0),
    a: opts.a === undefined ? 0 : checkNumber(where, 'a', opts.a),
  };
}

function fans(where: string, t: Tensor): { fanIn: number; fanOut: number } {
  if (t.shape.length < 2) throw rangeError(`${where}: tensor must have at least 2 dimensions, got shape [${t.shape.join(', ')}]`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

/** Checks a pair of uniform bounds: finite numbers with low <= high. */
function bounds(where: string, low: unknown, high: unknown): [number, number] {
  const lo = checkNumber(where, 'low', low);
  const hi = checkNumber(where, 'high', high);
  if (lo > hi) throw rangeError(`${where}: low must be <= high, got low ${lo} and high ${hi}`);
  return [lo, hi];
}

/**
 * Uniform in [low, high).
 * @throws TypeError / RangeError for a tensor that is not a float32 tensor, bounds that are not
 *   finite numbers with low <= high, or a bad option.
 */
export function uniform(t: Tensor, low: number, high: number, o?: InitOptions): Tensor {
  const where = 'init.uniform';
  const [lo, hi] = bounds(where, low, high);
  const { rng } = options(where, o);
  const x = target(where, t);
  rng.uniform(x.data, lo, hi);
  return written(x);
}

/**
 * Normal with the given mean and standard deviation.
 * @throws TypeError / RangeError for a bad tensor, a mean that is not finite, a std that is not a
 *   finite number >= 0, or a bad option.
 */
export function normal(t: Tensor, mean = 0, std = 1, o?: InitOptions): Tensor {
  const where = 'init.normal';
  checkNumber(where, 'mean', mean);
  checkFinite(where, 'std', std, '>= 0', (v) => v >= 0);
  const { rng } = options(where, o);
  const x = target(where, t);
  rng.fillNormal(x.data, mean, std);
  return written(x);
}

/**
 * Every element set to `value`.
 * @throws TypeError / RangeError for a bad tensor or a value that is not a finite number.
 */
export function constant(t: Tensor, value: number): Tensor {
  const where = 'init.constant';
  checkNumber(where, 'value', value);
  const x = target(where, t);
  x.data.fill(value);
  return written(x);
}

/** Xavier/Glorot uniform: U(±gain·sqrt(6 / (fanIn + fanOut))) (Glorot and Bengio, 2010). */
export function xavierUniform(t: Tensor, o?: InitOptions): Tensor {
  const where = 'init.xavierUniform';
  const { rng, gain } = options(where, o);
  const x = target(where, t);
  const { fanIn, fanOut } = fans(where, x);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  rng.uniform(x.data, -bound, bound);
  return written(x);
}

/** Xavier/Glorot normal: N(0, gain·sqrt(2 / (fanIn + fanOut))). */
export function xavierNormal(t: Tensor, o?: InitOptions): Tensor {
  const where = 'init.xavierNormal';
  const { rng, gain } = options(where, o);
  const x = target(where, t);
  const { fanIn, fanOut } = fans(where, x);
  rng.fillNormal(x.data, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
  return written(x);
}

/**
 * Kaiming/He uniform with PyTorch's `a` (negative slope) and fan-in mode: U(±gain·sqrt(3 / fanIn)),
 * gain = sqrt(2 / (1 + a²)). `a = sqrt(5)` is what nn.Linear uses for its weight.
 */
export function kaimingUniform(t: Tensor, o?: KaimingOptions): Tensor {
  const where = 'init.kaimingUniform';
  const { rng, a } = options(where, o, ['rng', 'a']);
  const x = target(where, t);
  const { fanIn } = fans(where, x);
  const bound = Math.sqrt(2 / (1 + a * a)) * Math.sqrt(3 / fanIn);
  rng.uniform(x.data, -bound, bound);
  return written(x);
}

/**
 * A (semi-)orthogonal matrix (Saxe et al., 2013), as PyTorch's `orthogonal_`: QR of a normal
 * matrix, signs fixed by R's diagonal, scaled by gain. Rows x columns = shape[0] x the rest.
 * For an LSTM's recurrent weight (4H, H) this makes the columns orthonormal.
 */
export function orthogonal(t: Tensor, o?: InitOptions): Tensor {
  const where = 'init.orthogonal';
  const { rng, gain } = options(where, o);
  const x = target(where, t);
  if (x.shape.length < 2) throw rangeError(`${where}: tensor must have at least 2 dimensions, got shape [${x.shape.join(', ')}]`);
  const rows = x.shape[0]!;
  const cols = rows === 0 ? 0 : x.data.length / rows;
  // Work on the tall orientation (m >= n), Gram-Schmidt with re-orthogonalisation in float64.
  const m = Math.max(rows, cols);
  const n = Math.min(rows, cols);
  const q = new Float64Array(m * n); // column-major: column k is q[k*m .. k*m+m)
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  for (let k = 0; k < n; k++) {
    const col = q.subarray(k * m, (k + 1) * m);
    for (let pass = 0; pass < 2; pass++) {
      for (let j = 0; j < k; j++) {
        const prev = q.subarray(j * m, (j + 1) * m);
        let dot = 0;
        for (let i = 0; i < m; i++) dot += prev[i]! * col[i]!;
        for (let i = 0; i < m; i++) col[i] = col[i]! - dot * prev[i]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += col[i]! * col[i]!;
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) col[i] = col[i]! / norm;
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // Tall case: rows are the long side; wide case: the transpose.
      x.data[r * cols + c] = gain * (rows >= cols ? q[c * m + r]! : q[r * m + c]!);
    }
  }
  return written(x);
}
