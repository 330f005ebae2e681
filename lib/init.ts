/**
 * Parameter initialisation, as PyTorch's `torch.nn.init`: each function fills a tensor in place
 * (usually a live view from `namedParameters()`) from a {@link Random} generator (the
 * process-wide one when omitted, see `manualSeed`).
 */
import { rangeError } from './errors.js';
import { Random, freshSeed } from './random.js';
import type { Tensor } from './tensor.js';

/** Options shared by the initialisers. */
export interface InitOptions {
  /** The generator; default: a new one seeded from the process-wide generator. */
  rng?: Random;
  /** Scale factor (PyTorch's `gain`). Default 1. */
  gain?: number;
}

function rngOf(o?: InitOptions): Random {
  return o?.rng ?? new Random(freshSeed());
}

function fans(where: string, t: Tensor): { fanIn: number; fanOut: number } {
  if (t.shape.length < 2) throw rangeError(`${where}: tensor must have at least 2 dimensions, got shape [${t.shape.join(', ')}]`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

/** Uniform in [low, high). */
export function uniform(t: Tensor, low: number, high: number, o?: InitOptions): Tensor {
  rngOf(o).uniform(t.data, low, high);
  return t;
}

/** Normal with the given mean and standard deviation. */
export function normal(t: Tensor, mean = 0, std = 1, o?: InitOptions): Tensor {
  rngOf(o).fillNormal(t.data, mean, std);
  return t;
}

/** Every element set to `value`. */
export function constant(t: Tensor, value: number): Tensor {
  t.data.fill(value);
  return t;
}

/** Xavier/Glorot uniform: U(±gain·sqrt(6 / (fanIn + fanOut))) (Glorot and Bengio, 2010). */
export function xavierUniform(t: Tensor, o?: InitOptions): Tensor {
  const { fanIn, fanOut } = fans('init.xavierUniform', t);
  const bound = (o?.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -bound, bound, o);
}

/** Xavier/Glorot normal: N(0, gain·sqrt(2 / (fanIn + fanOut))). */
export function xavierNormal(t: Tensor, o?: InitOptions): Tensor {
  const { fanIn, fanOut } = fans('init.xavierNormal', t);
  return normal(t, 0, (o?.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)), o);
}

/**
 * Kaiming/He uniform with PyTorch's `a` (negative slope) and fan-in mode: U(±gain·sqrt(3 / fanIn)),
 * gain = sqrt(2 / (1 + a²)). `a = sqrt(5)` is what nn.Linear uses for its weight.
 */
export function kaimingUniform(t: Tensor, o?: InitOptions & { a?: number }): Tensor {
  const { fanIn } = fans('init.kaimingUniform', t);
  const a = o?.a ?? 0;
  const bound = Math.sqrt(2 / (1 + a * a)) * Math.sqrt(3 / fanIn);
  return uniform(t, -bound, bound, o);
}

/**
 * A (semi-)orthogonal matrix (Saxe et al., 2013), as PyTorch's `orthogonal_`: QR of a normal
 * matrix, signs fixed by R's diagonal, scaled by gain. Rows x columns = shape[0] x the rest.
 * For an LSTM's recurrent weight (4H, H) this makes the columns orthonormal.
 */
export function orthogonal(t: Tensor, o?: InitOptions): Tensor {
  const rows = t.shape[0] ?? 0;
  const cols = rows === 0 ? 0 : t.data.length / rows;
  if (t.shape.length < 2) throw rangeError(`init.orthogonal: tensor must have at least 2 dimensions, got shape [${t.shape.join(', ')}]`);
  const rng = rngOf(o);
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
  const gain = o?.gain ?? 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // Tall case: rows are the long side; wide case: the transpose.
      t.data[r * cols + c] = gain * (rows >= cols ? q[c * m + r]! : q[r * m + c]!);
    }
  }
  return t;
}
