import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LstmError } from '../../lib/errors.js';
import {
  decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type SafetensorsContents,
} from '../../lib/io/safetensors.js';
import type { Tensor, TensorData } from '../../lib/tensor.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const fixtureFiles = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.safetensors')).sort();

/** Runs `fn`, expects it to throw, and returns the error. */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the call to throw');
}

/** Bytes of a typed array's elements, for bit-exact comparisons (NaN payloads included). */
function bytesOf(a: TensorData): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Deterministic pseudo-random 32-bit words (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A typed array of `n` elements filled with random bits (so floats include NaNs, infinities, subnormals). */
function randomBits<C extends new (buffer: ArrayBuffer) => TensorData>(C: C, n: number, next: () => number): InstanceType<C> {
  const size = (C as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const words = new Uint32Array(Math.ceil((n * size) / 4));
  for (let i = 0; i < words.length; i++) words[i] = next();
  const buffer = words.buffer.slice(0, n * size);
  return new C(buffer) as InstanceType<C>;
}

/**
 * A safetensors file from parts: `header` (a JSON value, its text or raw bytes), then `data`. The length prefix is
 * the header's byte length unless `headerLength` overrides it.
 */
function build(header: unknown, data: Uint8Array | number = 0, headerLength?: bigint): Uint8Array {
  const json = header instanceof Uint8Array ? header
    : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const body = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

/** An entry of a header. */
const entry = (dtype: string, shape: unknown, begin: number, end: number) => ({ dtype, shape, data_offsets: [begin, end] });

// ---------------------------------------------------------------------------------------------
// What the fixtures README says each fixture holds

type Spec = Map<string, { dtype: string; shape: number[] }>;

function lstmSpec(meta: Record<string, string>): Spec {
  const I = Number(meta.input_size);
  const H = Number(meta.hidden_size);
  const L = Number(meta.num_layers);
  const D = meta.bidirectional === 'true' ? 2 : 1;
  const P = Number(meta.proj_size);
  const B = Number(meta.batch);
  const T = Number(meta.seq_len);
  const batchFirst = meta.batch_first === 'true';
  const Hout = P > 0 ? P : H;
  const spec: Spec = new Map();
  const f32 = (name: string, shape: number[]) => spec.set(name, { dtype: 'F32', shape });
  const weights: [string, number[]][] = [];
  for (let l = 0; l < L; l++) {
    for (const suffix of D === 2 ? ['', '_reverse'] : ['']) {
      const Ik = l === 0 ? I : D * Hout;
      weights.push([`weight_ih_l${l}${suffix}`, [4 * H, Ik]], [`weight_hh_l${l}${suffix}`, [4 * H, Hout]],
        [`bias_ih_l${l}${suffix}`, [4 * H]], [`bias_hh_l${l}${suffix}`, [4 * H]]);
      if (P > 0) weights.push([`weight_hr_l${l}${suffix}`, [P, H]]);
    }
  }
  for (const [name, shape] of weights) {
    f32(name, shape);
    f32(`grad.${name}`, shape);
  }
  const seq = (last: number) => (batchFirst ? [B, T, last] : [T, B, last]);
  f32('x', seq(I));
  f32('grad.x', seq(I));
  f32('y', seq(D * Hout));
  f32('gy', seq(D * Hout));
  for (const name of ['hn', 'ghn']) f32(name, [D * L, B, Hout]);
  for (const name of ['cn', 'gcn']) f32(name, [D * L, B, H]);
  if (meta.has_initial_state === 'true') {
    for (const name of ['h0', 'grad.h0']) f32(name, [D * L, B, Hout]);
    for (const name of ['c0', 'grad.c0']) f32(name, [D * L, B, H]);
  }
  if (meta.has_lengths === 'true') spec.set('lengths', { dtype: 'I64', shape: [B] });
  return spec;
}

function charmodelSpec(meta: Record<string, string>): Spec {
  const V = Number(meta.vocab);
  const E = Number(meta.embed);
  const H = Number(meta.hidden_size);
  const B = Number(meta.batch);
  const T = Number(meta.seq_len);
  const spec: Spec = new Map();
  const params: [string, number[]][] = [
    ['embed.weight', [V, E]], ['lstm.weight_ih_l0', [4 * H, E]], ['lstm.weight_hh_l0', [4 * H, H]],
    ['lstm.bias_ih_l0', [4 * H]], ['lstm.bias_hh_l0', [4 * H]], ['head.weight', [V, H]], ['head.bias', [V]],
  ];
  for (const [name, shape] of params) {
    spec.set(name, { dtype: 'F32', shape });
    spec.set(`grad.${name}`, { dtype: 'F32', shape });
  }
  spec.set('tokens', { dtype: 'I64', shape: [B, T] });
  spec.set('targets', { dtype: 'I64', shape: [B, T] });
  spec.set('logits', { dtype: 'F32', shape: [B, T, V] });
  spec.set('loss', { dtype: 'F32', shape: [1] });
  return spec;
}

function lstmcellSpec(meta: Record<string, string>): Spec {
  const I = Number(meta.input_size);
  const H = Number(meta.hidden_size);
  const B = Number(meta.batch);
  const rows = (n: number) => (B === 0 ? [n] : [B, n]);
  const spec: Spec = new Map();
  const f32 = (name: string, shape: number[]) => spec.set(name, { dtype: 'F32', shape });
  for (const [name, shape] of [['weight_ih', [4 * H, I]], ['weight_hh', [4 * H, H]], ['bias_ih', [4 * H]], ['bias_hh', [4 * H]]] as const) {
    f32(name, [...shape]);
    f32(`grad.${name}`, [...shape]);
  }
  f32('x', rows(I));
  f32('grad.x', rows(I));
  for (const name of ['h1', 'c1', 'gh', 'gc']) f32(name, rows(H));
  if (meta.has_initial_state === 'true') for (const name of ['h0', 'c0', 'grad.h0', 'grad.c0']) f32(name, rows(H));
  return spec;
}

function optimizerSpec(meta: Record<string, string>, paramShape: number[]): Spec {
  const spec: Spec = new Map();
  spec.set('param0', { dtype: 'F32', shape: paramShape });
  spec.set('param', { dtype: 'F32', shape: paramShape });
  for (let i = 0; i < Number(meta.steps); i++) spec.set(`grad${i}`, { dtype: 'F32', shape: paramShape });
  return spec;
}

const ARRAY_OF_DTYPE: Record<string, new (n: number) => TensorData> = { F32: Float32Array, I64: BigInt64Array };

/** A plain float64 single-layer, single-direction LSTM (PyTorch gate order i, f, g, o), for a value check. */
function referenceLstm(f: SafetensorsContents): { y: number[]; hn: number[]; cn: number[] } {
  const m = f.metadata;
  const [I, H, B, T] = [m.input_size, m.hidden_size, m.batch, m.seq_len].map(Number) as [number, number, number, number];
  const get = (name: string) => f.tensors[name]!.data as Float32Array;
  const [wIh, wHh, bIh, bHh, x] = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'x'].map(get) as Float32Array[];
  const h = f.tensors.h0 ? Array.from(get('h0')) : new Array<number>(B * H).fill(0);
  const c = f.tensors.c0 ? Array.from(get('c0')) : new Array<number>(B * H).fill(0);
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  const y: number[] = [];
  for (let t = 0; t < T; t++) {
    const hNext: number[] = [];
    for (let b = 0; b < B; b++) {
      const gates: number[] = [];
      for (let r = 0; r < 4 * H; r++) {
        let s = bIh![r]! + bHh![r]!;
        for (let k = 0; k < I; k++) s += wIh![r * I + k]! * x![(t * B + b) * I + k]!;
        for (let k = 0; k < H; k++) s += wHh![r * H + k]! * h[b * H + k]!;
        gates.push(s);
      }
      for (let j = 0; j < H; j++) {
        const i = sigmoid(gates[j]!);
        const fg = sigmoid(gates[H + j]!);
        const g = Math.tanh(gates[2 * H + j]!);
        const o = sigmoid(gates[3 * H + j]!);
        c[b * H + j] = fg * c[b * H + j]! + i * g;
        hNext[b * H + j] = o * Math.tanh(c[b * H + j]!);
      }
    }
    h.splice(0, h.length, ...hNext);
    y.push(...hNext);
  }
  return { y, hn: h, cn: c };
}

function expectClose(actual: Float32Array, expected: number[], rtol = 1e-4, atol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (diff > atol + rtol * Math.abs(expected[i]!)) {
      throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

describe('readSafetensors on the PyTorch fixtures', () => {
  it('finds the fixtures', () => {
    expect(fixtureFiles.length).toBeGreaterThanOrEqual(12);
  });

  it.each(fixtureFiles)('%s holds exactly the tensors, dtypes and shapes the README describes', (file) => {
    const f = readSafetensors(path.join(FIXTURES, file));
    const kind = f.metadata.kind;
    let spec: Spec;
    if (kind === 'lstm') {
      expect(file).toMatch(/^lstm_/);
      spec = lstmSpec(f.metadata);
    } else if (kind === 'lstmcell') {
      expect(file).toMatch(/^lstmcell_/);
      spec = lstmcellSpec(f.metadata);
    } else if (kind === 'charmodel') {
      expect(file).toBe('charmodel.safetensors');
      spec = charmodelSpec(f.metadata);
    } else {
      expect(kind).toBe('optimizer');
      expect(file).toMatch(/^optim_/);
      expect(['SGD', 'Adam', 'AdamW', 'RMSprop']).toContain(f.metadata.optimizer);
      expect(() => JSON.parse(f.metadata.options!)).not.toThrow();
      spec = optimizerSpec(f.metadata, f.tensors.param0!.shape);
    }
    expect(Object.keys(f.tensors).sort()).toEqual([...spec.keys()].sort());
    for (const [name, { dtype, shape }] of spec) {
      const t = f.tensors[name]!;
      expect(f.dtypes[name], name).toBe(dtype);
      expect(t.data, name).toBeInstanceOf(ARRAY_OF_DTYPE[dtype]!);
      expect(t.shape, name).toEqual(shape);
      expect(t.data.length, name).toBe(shape.reduce((a, b) => a * b, 1));
    }
    for (const value of Object.values(f.metadata)) expect(typeof value).toBe('string');
  });

  it('reads lstm_tiny with the sizes its metadata gives', () => {
    const f = readSafetensors(path.join(FIXTURES, 'lstm_tiny.safetensors'));
    expect(f.metadata).toMatchObject({ kind: 'lstm', input_size: '3', hidden_size: '4', num_layers: '1', batch: '2', seq_len: '5' });
    expect(f.tensors.weight_ih_l0!.shape).toEqual([16, 3]);
    expect(f.tensors.weight_hh_l0!.shape).toEqual([16, 4]);
    expect(f.tensors.bias_ih_l0!.shape).toEqual([16]);
    expect(f.tensors.x!.shape).toEqual([5, 2, 3]);
  });

  it.each(['lstm_tiny.safetensors', 'lstm_no_initial_state.safetensors'])(
    '%s decodes to numbers a plain reference LSTM reproduces', (file) => {
      const f = readSafetensors(path.join(FIXTURES, file));
      const ref = referenceLstm(f);
      expectClose(f.tensors.y!.data as Float32Array, ref.y);
      expectClose(f.tensors.hn!.data as Float32Array, ref.hn);
      expectClose(f.tensors.cn!.data as Float32Array, ref.cn);
    });

  it('decodes I64 lengths and tokens to BigInt64Array values in range', () => {
    const lengths = readSafetensors(path.join(FIXTURES, 'lstm_lengths_bidir.safetensors'));
    const T = BigInt(lengths.metadata.seq_len!);
    for (const v of lengths.tensors.lengths!.data as BigInt64Array) {
      expect(v >= 1n && v <= T).toBe(true);
    }
    const chars = readSafetensors(path.join(FIXTURES, 'charmodel.safetensors'));
    const V = BigInt(chars.metadata.vocab!);
    for (const name of ['tokens', 'targets']) {
      for (const v of chars.tensors[name]!.data as BigInt64Array) expect(v >= 0n && v < V).toBe(true);
    }
  });

  it('gives the same result from a path and from the file bytes', () => {
    for (const file of fixtureFiles) {
      const p = path.join(FIXTURES, file);
      const a = readSafetensors(p);
      const b = readSafetensors(fs.readFileSync(p));
      expect(b.metadata).toEqual(a.metadata);
      expect(b.dtypes).toEqual(a.dtypes);
      for (const name of Object.keys(a.tensors)) {
        expect(b.tensors[name]!.shape).toEqual(a.tensors[name]!.shape);
        expect(bytesOf(b.tensors[name]!.data).equals(bytesOf(a.tensors[name]!.data))).toBe(true);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('byte layout', () => {
  // Hand-built: 8-byte LE length 200, the header JSON (195 bytes) and 5 spaces, then the data of the
  // tensors in name order: m (U8 [7, 255]), n (I64 1), w (F32 [1, -2]).
  const headerText = '{"__metadata__":{"kind":"test"},'
    + '"m":{"dtype":"U8","shape":[2,1],"data_offsets":[0,2]},'
    + '"n":{"dtype":"I64","shape":[1],"data_offsets":[2,10]},'
    + '"w":{"dtype":"F32","shape":[2],"data_offsets":[10,18]}}';
  const golden = Buffer.concat([
    Buffer.from([200, 0, 0, 0, 0, 0, 0, 0]),
    Buffer.from(headerText + '     ', 'utf8'),
    Buffer.from([0x07, 0xff]),
    Buffer.from([0x01, 0, 0, 0, 0, 0, 0, 0]),
    Buffer.from([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]),
  ]);
  const tensors = {
    w: { data: new Float32Array([1, -2]), shape: [2] },
    n: { data: new BigInt64Array([1n]), shape: [1] },
    m: { data: new Uint8Array([7, 255]), shape: [2, 1] },
  };

  it('the golden buffer is what the spec says (header 195 bytes + 5 spaces)', () => {
    expect(Buffer.byteLength(headerText)).toBe(195);
    expect(golden.length).toBe(8 + 200 + 18);
  });

  it('encodeSafetensors produces the golden bytes: names sorted, padded to 8 with spaces', () => {
    expect(Buffer.from(encodeSafetensors(tensors, { kind: 'test' })).equals(golden)).toBe(true);
  });

  it('writeSafetensors writes the golden bytes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-golden-'));
    try {
      const file = path.join(dir, 'g.safetensors');
      writeSafetensors(file, tensors, { kind: 'test' });
      expect(fs.readFileSync(file).equals(golden)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decodes the golden bytes', () => {
    const f = decodeSafetensors(golden);
    expect(f.metadata).toEqual({ kind: 'test' });
    expect(f.dtypes).toEqual({ m: 'U8', n: 'I64', w: 'F32' });
    expect(f.tensors.w).toEqual({ data: new Float32Array([1, -2]), shape: [2] });
    expect(f.tensors.n).toEqual({ data: new BigInt64Array([1n]), shape: [1] });
    expect(f.tensors.m).toEqual({ data: new Uint8Array([7, 255]), shape: [2, 1] });
  });

  it('omits __metadata__ when there is none and writes an empty file as just a header', () => {
    const bytes = encodeSafetensors({});
    expect(Buffer.from(bytes).equals(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]))).toBe(true);
    expect(decodeSafetensors(bytes)).toEqual({ tensors: {}, metadata: {}, dtypes: {} });
    expect(Buffer.from(encodeSafetensors({}, {})).equals(Buffer.from(bytes))).toBe(true);
  });

  it('copies tensors out of an unaligned data section into fresh aligned arrays', () => {
    // Header of 61 bytes, unpadded, so the data starts at byte 69; the whole file sits at offset 3.
    const values = new Float64Array([Math.PI, -0, 1e-310]);
    const header = JSON.stringify({ a: entry('F64', [3], 0, 24) });
    const file = build(header, new Uint8Array(values.buffer));
    expect((8 + Buffer.byteLength(header)) % 8).not.toBe(0);
    const padded = new Uint8Array(file.length + 3);
    padded.set(file, 3);
    const f = decodeSafetensors(padded.subarray(3));
    const data = f.tensors.a!.data as Float64Array;
    expect(data).toBeInstanceOf(Float64Array);
    expect(data.byteOffset).toBe(0);
    expect(data.buffer).not.toBe(padded.buffer);
    expect(bytesOf(data).equals(bytesOf(values))).toBe(true);
    padded.fill(0);
    expect(data[0]).toBe(Math.PI);
  });

  it('accepts zero-sized tensors and scalars anywhere in the data', () => {
    const header = { e: entry('F32', [2, 0], 4, 4), s: entry('I32', [], 0, 4), z: entry('U8', [0], 4, 4) };
    const f = decodeSafetensors(build(header, new Uint8Array([5, 0, 0, 0])));
    expect(f.tensors.s).toEqual({ data: new Int32Array([5]), shape: [] });
    expect(f.tensors.e).toEqual({ data: new Float32Array(0), shape: [2, 0] });
    expect(f.tensors.z).toEqual({ data: new Uint8Array(0), shape: [0] });
  });

  it('reads BOOL as Uint8Array and I16/I8/U16/U32/U64 as their arrays', () => {
    const data = new Uint8Array([1, 0, 0xff, 0xff, 0x80, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12,
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const header = {
      b: entry('BOOL', [2], 0, 2), i16: entry('I16', [1], 2, 4), i8: entry('I8', [1], 4, 5),
      u16: entry('U16', [1], 5, 7), u32: entry('U32', [1], 7, 11), u64: entry('U64', [1], 11, 19),
    };
    const f = decodeSafetensors(build(header, data));
    expect(f.dtypes.b).toBe('BOOL');
    expect(f.tensors.b!.data).toEqual(new Uint8Array([1, 0]));
    expect(f.tensors.i16!.data).toEqual(new Int16Array([-1]));
    expect(f.tensors.i8!.data).toEqual(new Int8Array([-128]));
    expect(f.tensors.u16!.data).toEqual(new Uint16Array([0x1234]));
    expect(f.tensors.u32!.data).toEqual(new Uint32Array([0x12345678]));
    expect(f.tensors.u64!.data).toEqual(new BigUint64Array([2n ** 64n - 1n]));
  });
});

describe('F16 and BF16', () => {
  /** float16 by arithmetic, the slow obvious way. */
  function f16(h: number): number {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) return sign * mant * 2 ** -24;
    if (exp === 31) return mant ? NaN : sign * Infinity;
    return sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }

  it('widens every one of the 65536 F16 values exactly to Float32Array', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const f = decodeSafetensors(build({ h: entry('F16', [65536], 0, 131072) }, new Uint8Array(all.buffer)));
    expect(f.dtypes.h).toBe('F16');
    const data = f.tensors.h!.data as Float32Array;
    expect(data).toBeInstanceOf(Float32Array);
    const bits = new Uint32Array(data.buffer);
    for (let h = 0; h < 65536; h++) {
      const want = f16(h);
      if (Number.isNaN(want)) {
        expect(Number.isNaN(data[h]!)).toBe(true);
        expect(bits[h]! & 0x1fff).toBe(0); // the payload moves up 13 bits, unchanged
        expect((bits[h]! >>> 13) & 0x3ff).toBe(h & 0x3ff);
      } else if (!Object.is(data[h], want)) {
        throw new Error(`F16 0x${h.toString(16)}: got ${data[h]}, expected ${want}`);
      }
    }
    expect(data[0x3c00]).toBe(1);
    expect(data[0x0001]).toBe(2 ** -24);
    expect(Object.is(data[0x8000], -0)).toBe(true);
    expect(data[0x7bff]).toBe(65504);
  });

  it('widens BF16 to Float32Array by padding the low 16 bits with zeros', () => {
    const raw = new Uint16Array([0x3f80, 0xc040, 0x7f80, 0x8000, 0x0001, 0x7fc1]);
    const f = decodeSafetensors(build({ b: entry('BF16', [2, 3], 0, 12) }, new Uint8Array(raw.buffer)));
    expect(f.dtypes.b).toBe('BF16');
    const data = f.tensors.b!.data as Float32Array;
    expect(f.tensors.b!.shape).toEqual([2, 3]);
    expect(Array.from(new Uint32Array(data.buffer))).toEqual(Array.from(raw, (h) => h * 65536));
    expect(data[0]).toBe(1);
    expect(data[1]).toBe(-3);
    expect(data[2]).toBe(Infinity);
    expect(Object.is(data[3], -0)).toBe(true);
    expect(data[4]).toBe(2 ** -133);
  });
});

// ---------------------------------------------------------------------------------------------

describe('round trip', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-roundtrip-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function randomTensors(): Record<string, Tensor<TensorData>> {
    const next = rng(1234);
    return {
      'lstm.weight_ih_l0': { data: randomBits(Float32Array, 12 * 5, next), shape: [12, 5] },
      'f64': { data: randomBits(Float64Array, 7, next), shape: [7] },
      'tokens': { data: randomBits(BigInt64Array, 6, next), shape: [2, 3] },
      'i32': { data: randomBits(Int32Array, 24, next), shape: [2, 3, 4] },
      'u8': { data: randomBits(Uint8Array, 13, next), shape: [13] },
      'i16': { data: randomBits(Int16Array, 3, next), shape: [3] },
      'i8': { data: randomBits(Int8Array, 5, next), shape: [5, 1] },
      'u16': { data: randomBits(Uint16Array, 3, next), shape: [3] },
      'u32': { data: randomBits(Uint32Array, 2, next), shape: [2] },
      'u64': { data: randomBits(BigUint64Array, 2, next), shape: [1, 2] },
      'scalar': { data: new Float32Array([NaN]), shape: [] },
      'empty': { data: new Float32Array(0), shape: [3, 0] },
      'ünïcode ✓': { data: new Float32Array([1.5]), shape: [1] },
      ['__proto__']: { data: new Float32Array([2]), shape: [1] }, // computed: an own key, not the prototype
    };
  }
  const metadata = { kind: 'lstm', hidden_size: '32', note: 'ünïcode ✓ "quoted" {json}', empty: '' };
  const expectedDtypes = {
    'lstm.weight_ih_l0': 'F32', f64: 'F64', tokens: 'I64', i32: 'I32', u8: 'U8', i16: 'I16', i8: 'I8', u16: 'U16',
    u32: 'U32', u64: 'U64', scalar: 'F32', empty: 'F32', 'ünïcode ✓': 'F32', ['__proto__']: 'F32',
  };

  function expectSame(got: SafetensorsContents, want: Record<string, Tensor<TensorData>>): void {
    expect(Object.keys(got.tensors).sort()).toEqual(Object.keys(want).sort());
    for (const [name, t] of Object.entries(want)) {
      const g = got.tensors[name]!;
      expect(g.shape, name).toEqual(t.shape);
      expect(g.data.constructor, name).toBe(t.data.constructor);
      expect(bytesOf(g.data).equals(bytesOf(t.data)), name).toBe(true);
    }
    expect(got.metadata).toEqual(metadata);
    for (const [name, dtype] of Object.entries(expectedDtypes)) expect(got.dtypes[name], name).toBe(dtype);
  }

  it('write → read is bit-exact for every typed array, with metadata', () => {
    const tensors = randomTensors();
    const file = path.join(dir, 'model.safetensors');
    writeSafetensors(file, tensors, metadata);
    const got = readSafetensors(file);
    expectSame(got, tensors);
    expect(Object.getPrototypeOf(got.tensors)).toBe(Object.prototype);
  });

  it('encode → decode is bit-exact too, and the header is a multiple of 8 bytes', () => {
    const tensors = randomTensors();
    const bytes = encodeSafetensors(tensors, metadata);
    expect(Number(Buffer.from(bytes).readBigUInt64LE(0)) % 8).toBe(0);
    expectSame(decodeSafetensors(bytes), tensors);
  });

  it('writes tensors in sorted name order with contiguous offsets', () => {
    const bytes = Buffer.from(encodeSafetensors({
      b: { data: new Float32Array(2), shape: [2] }, a: { data: new Float64Array(1), shape: [1] },
      c: { data: new Uint8Array(3), shape: [3] },
    }));
    const n = Number(bytes.readBigUInt64LE(0));
    const text = bytes.subarray(8, 8 + n).toString('utf8');
    expect(text).toBe(`${'{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},'
      + '"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},'
      + '"c":{"dtype":"U8","shape":[3],"data_offsets":[16,19]}}'}`.padEnd(n, ' '));
  });

  it('writes a view at its own offset, not its whole buffer', () => {
    const backing = new Float32Array([9, 1, 2, 3, 9]);
    const bytes = encodeSafetensors({ v: { data: backing.subarray(1, 4), shape: [3] } });
    expect(decodeSafetensors(bytes).tensors.v!.data).toEqual(new Float32Array([1, 2, 3]));
  });
});

// ---------------------------------------------------------------------------------------------

describe('strict reader: each malformation is an ERR_LSTM_FILE naming the source', () => {
  const f32 = (n: number) => new Uint8Array(4 * n);
  const cases: [string, Uint8Array, RegExp][] = [
    ['a file shorter than 8 bytes', new Uint8Array(5),
      /the file is 5 bytes, shorter than the 8-byte header length/],
    ['an empty file', new Uint8Array(0), /the file is 0 bytes/],
    ['a header length larger than the file', build('{}', 0, 100n),
      /the header length 100 is larger than the rest of the file \(2 bytes; truncated\?\)/],
    ['an absurd header length', build('{}', 0, 2n ** 63n),
      /the header length 9223372036854775808 is over the 100 MB limit/],
    ['a header that is not UTF-8', build(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 0),
      /the header is not valid UTF-8/],
    ['a header that is not JSON', build('{"a": ', 0), /the header is not valid JSON \(/],
    ['an empty header', build('', 0), /the header is not valid JSON/],
    ['a header that is an array', build([], 0), /the header must be a JSON object, got \[\]/],
    ['a header that is null', build('null', 0), /the header must be a JSON object, got null/],
    ['an entry that is not an object', build({ w: 3 }, 0),
      /tensor "w": the entry must be an object \{dtype, shape, data_offsets\}, got 3/],
    ['an entry without dtype', build({ w: { shape: [1], data_offsets: [0, 4] } }, 4),
      /tensor "w": dtype must be a string, got undefined/],
    ['an unknown dtype', build({ w: entry('F33', [1], 0, 4) }, 4),
      /tensor "w": unknown dtype "F33" \(supported: F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL\)/],
    ['an unsupported dtype', build({ w: entry('F8_E4M3', [1], 0, 1) }, 1),
      /tensor "w": dtype F8_E4M3 is not supported \(supported: /],
    ['a shape that is not an array', build({ w: entry('F32', 4, 0, 4) }, 4),
      /tensor "w": shape must be an array of non-negative integers, got 4/],
    ['a negative dim', build({ w: entry('F32', [2, -1], 0, 4) }, 4),
      /tensor "w": shape must be an array of non-negative integers, got \[2,-1\]/],
    ['a non-integer dim', build({ w: entry('F32', [1.5], 0, 4) }, 4),
      /tensor "w": shape must be an array of non-negative integers, got \[1.5\]/],
    ['a string dim', build({ w: entry('F32', ['1'], 0, 4) }, 4),
      /tensor "w": shape must be an array of non-negative integers, got \["1"\]/],
    ['missing data_offsets', build({ w: { dtype: 'F32', shape: [1] } }, 4),
      /tensor "w": data_offsets must be \[begin, end\] with integers 0 <= begin <= end, got undefined/],
    ['data_offsets with begin > end', build({ w: entry('F32', [1], 8, 4) }, 8),
      /tensor "w": data_offsets must be \[begin, end\] .* got \[8,4\]/],
    ['data_offsets of three numbers', build({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, 4),
      /tensor "w": data_offsets must be \[begin, end\]/],
    ['negative data_offsets', build({ w: entry('F32', [1], -4, 0) }, 4),
      /tensor "w": data_offsets must be \[begin, end\] .* got \[-4,0\]/],
    ['a byte length that is not numel * itemsize', build({ w: entry('F32', [2, 3], 0, 20) }, 20),
      /tensor "w": dtype F32 and shape \[2, 3\] need 24 bytes, but data_offsets \[0, 20\] span 20/],
    ['offsets past the end of the data', build({ w: entry('F32', [2], 0, 8) }, 4),
      /tensor "w": data_offsets \[0, 8\] run past the end of the data section \(4 bytes\)/],
    ['overlapping tensors', build({ a: entry('F32', [2], 0, 8), b: entry('F32', [2], 4, 12) }, f32(3)),
      /tensors "a" \(bytes \[0, 8\]\) and "b" \(bytes \[4, 12\]\) overlap/],
    ['the same bytes used twice', build({ a: entry('F32', [2], 0, 8), b: entry('F32', [2], 0, 8) }, f32(2)),
      /tensors "a" \(bytes \[0, 8\]\) and "b" \(bytes \[0, 8\]\) overlap/],
    ['a hole between tensors', build({ a: entry('F32', [1], 0, 4), b: entry('F32', [1], 8, 12) }, f32(3)),
      /bytes \[4, 8\] of the data section belong to no tensor \(a hole between tensors "a" and "b"\)/],
    ['a hole before the first tensor', build({ a: entry('F32', [1], 4, 8) }, f32(2)),
      /bytes \[0, 4\] of the data section belong to no tensor \(a hole before tensor "a"\)/],
    ['trailing bytes after the last tensor', build({ a: entry('F32', [1], 0, 4) }, f32(2)),
      /the data section has 8 bytes but the tensors cover only the first 4 \(4 bytes belong to no tensor\)/],
    ['data but no tensors', build({}, 3), /the data section has 3 bytes but the tensors cover only the first 0/],
    ['a tensor named twice', build('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
      + '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), /the header names tensor "a" twice/],
    ['a tensor named twice through an escape', build('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
      + '"\\u0061":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 2), /the header names tensor "a" twice/],
    ['__metadata__ twice', build('{"__metadata__":{},"__metadata__":{}}', 0), /the header names __metadata__ twice/],
    ['a key twice in one entry', build('{"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4),
      /the header has the key "dtype" twice in one object/],
    ['a metadata key twice', build('{"__metadata__":{"k":"1","k":"2"}}', 0), /the header has the key "k" twice in one object/],
    ['__metadata__ that is not an object', build({ __metadata__: 'x' }, 0),
      /__metadata__ must be an object of strings, got "x"/],
    ['a metadata value that is not a string', build({ __metadata__: { steps: 3 } }, 0),
      /__metadata__\["steps"\] must be a string, got 3/],
    ['a null metadata value', build({ __metadata__: { clip: null } }, 0), /__metadata__\["clip"\] must be a string, got null/],
  ];

  it.each(cases)('rejects %s', (_what, bytes, message) => {
    const err = thrown(() => readSafetensors(bytes));
    expect(err).toBeInstanceOf(LstmError);
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect(err.message).toMatch(/^readSafetensors: <buffer of \d+ bytes>: /);
    expect(err.message).toMatch(message);
  });

  it('does not mistake braces, quotes and colons inside strings for keys', () => {
    const header = '{"__metadata__":{"options":"{\\"a\\": [1, {\\"a\\": 2}], \\"k\\":\\"k\\"}","k":"\\"k\\":"},'
      + '"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    const f = readSafetensors(build(header, 1));
    expect(f.metadata).toEqual({ options: '{"a": [1, {"a": 2}], "k":"k"}', k: '"k":' });
  });

  it('accepts a header padded with spaces', () => {
    const f = readSafetensors(build(`${JSON.stringify({ w: entry('U8', [1], 0, 1) })}       `, 1));
    expect(f.tensors.w!.data).toEqual(new Uint8Array(1));
  });

  it('names the file path when reading from disk, and the source name when decoding', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-bad-'));
    try {
      const file = path.join(dir, 'bad.safetensors');
      fs.writeFileSync(file, build({ w: entry('F32', [2], 0, 8) }, 4));
      const err = thrown(() => readSafetensors(file));
      expect(err).toBeInstanceOf(LstmError);
      expect(err.code).toBe('ERR_LSTM_FILE');
      expect(err.message).toBe(`readSafetensors: ${file}: tensor "w": data_offsets [0, 8] run past the end of the data section (4 bytes)`);

      fs.writeFileSync(file, new Uint8Array(3));
      expect(thrown(() => readSafetensors(file)).message)
        .toBe(`readSafetensors: ${file}: the file is 3 bytes, shorter than the 8-byte header length (not a safetensors file?)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(thrown(() => decodeSafetensors(new Uint8Array(2), 'upload.safetensors')).message)
      .toBe('decodeSafetensors: upload.safetensors: the file is 2 bytes, shorter than the 8-byte header length (not a safetensors file?)');
  });

  it('passes file-system errors through with their code', () => {
    const err = thrown(() => readSafetensors(path.join(os.tmpdir(), 'no-such-dir-st', 'x.safetensors')));
    expect(err.code).toBe('ENOENT');
  });

  it('rejects arguments that are neither a path nor bytes', () => {
    let err = thrown(() => readSafetensors(42 as unknown as string));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('readSafetensors: pathOrBuffer must be a path or a Uint8Array, got the number 42');
    err = thrown(() => readSafetensors(''));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('readSafetensors: path must not be empty');
    err = thrown(() => decodeSafetensors([1, 2] as unknown as Uint8Array));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('decodeSafetensors: bytes must be a Uint8Array, got an Array of 2 elements');
  });
});

// ---------------------------------------------------------------------------------------------

describe('writer argument checks', () => {
  const ok = { data: new Float32Array(2), shape: [2] };
  const cases: [string, () => unknown, ErrorConstructor, string | RegExp][] = [
    ['tensors that are not an object', () => encodeSafetensors(null as never), TypeError,
      'encodeSafetensors: tensors must be an object mapping names to tensors {data, shape}, got null'],
    ['an empty tensor name', () => encodeSafetensors({ '': ok }), RangeError,
      'encodeSafetensors: tensor names must be non-empty strings, got ""'],
    ['the reserved name __metadata__', () => encodeSafetensors({ __metadata__: ok }), RangeError,
      'encodeSafetensors: "__metadata__" is reserved and cannot name a tensor'],
    ['a value that is not a tensor', () => encodeSafetensors({ w: 3 as never }), TypeError,
      'encodeSafetensors: tensors["w"] must be a tensor {data, shape}, got the number 3'],
    ['an unsupported typed array', () => encodeSafetensors({ w: { data: new Uint8ClampedArray(2) as never, shape: [2] } }), TypeError,
      // errors.describe picks the article by first letter ("an Uint8ClampedArray"); either reads as the same message
      /^encodeSafetensors: tensors\["w"\]\.data must be one of Float32Array, Float64Array, BigInt64Array, Int32Array, Int16Array, Int8Array, BigUint64Array, Uint32Array, Uint16Array, Uint8Array, got an? Uint8ClampedArray of 2 elements$/],
    ['a plain array as data', () => encodeSafetensors({ w: { data: [1, 2] as never, shape: [2] } }), TypeError,
      'encodeSafetensors: tensors["w"].data must be one of Float32Array, Float64Array, BigInt64Array, Int32Array, '
      + 'Int16Array, Int8Array, BigUint64Array, Uint32Array, Uint16Array, Uint8Array, got an Array of 2 elements'],
    ['a negative dim', () => encodeSafetensors({ w: { data: new Float32Array(2), shape: [-2] } }), RangeError,
      'encodeSafetensors: tensors["w"].shape[0] must be a non-negative integer, got the number -2'],
    ['a data length that does not match the shape', () => encodeSafetensors({ w: { data: new Float32Array(5), shape: [2, 3] } }),
      RangeError, 'encodeSafetensors: tensors["w"] has shape [2, 3] (6 elements), but its data has 5 elements'],
    ['metadata that is not an object', () => encodeSafetensors({}, [] as never), TypeError,
      'encodeSafetensors: metadata must be an object of strings, got an Array of 0 elements'],
    ['a metadata number', () => encodeSafetensors({}, { steps: 3 } as never), TypeError,
      'encodeSafetensors: metadata["steps"] must be a string, got the number 3 (JSON-encode it: "3")'],
    ['a metadata object', () => encodeSafetensors({}, { o: {} } as never), TypeError,
      'encodeSafetensors: metadata["o"] must be a string, got an object'],
    ['a path that is not a string', () => writeSafetensors(7 as never, {}), TypeError,
      'writeSafetensors: path must be a string, got the number 7'],
    ['an empty path', () => writeSafetensors('', {}), RangeError, 'writeSafetensors: path must not be empty'],
  ];

  it.each(cases)('rejects %s', (_what, fn, Class, message) => {
    const err = thrown(fn);
    expect(err).toBeInstanceOf(Class);
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
    expect(err.code).toMatch(/^ERR_LSTM_/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('atomic write', () => {
  let dir: string;
  let file: string;
  const first = { w: { data: new Float32Array([1, 2, 3]), shape: [3] } };
  const second = { w: { data: new Float32Array([4, 5]), shape: [2] }, v: { data: new Int32Array([7]), shape: [1] } };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'st-atomic-'));
    file = path.join(dir, 'model.safetensors');
  });
  afterEach(() => {
    vi.restoreAllMocks();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Writes `first`, runs `fail` (which arms a failure and writes again), and checks the first file survived alone. */
  function expectPreviousKept(fail: () => unknown): Error & { code?: string } {
    writeSafetensors(file, first, { v: '1' });
    const before = fs.readFileSync(file);
    const err = thrown(fail);
    vi.restoreAllMocks();
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(readSafetensors(file).metadata).toEqual({ v: '1' });
    return err;
  }

  it('leaves only the target behind', () => {
    writeSafetensors(file, first);
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
    expect(readSafetensors(file).tensors.w!.data).toEqual(new Float32Array([1, 2, 3]));
  });

  it('replaces an existing file completely', () => {
    writeSafetensors(file, first, { v: '1' });
    writeSafetensors(file, second, { v: '2' });
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
    const f = readSafetensors(file);
    expect(f.metadata).toEqual({ v: '2' });
    expect(Object.keys(f.tensors).sort()).toEqual(['v', 'w']);
    expect(f.tensors.w!.data).toEqual(new Float32Array([4, 5]));
  });

  it('accepts a relative path', () => {
    const cwd = process.cwd();
    try {
      process.chdir(dir);
      writeSafetensors('rel.safetensors', first);
    } finally {
      process.chdir(cwd);
    }
    expect(fs.readdirSync(dir)).toEqual(['rel.safetensors']);
  });

  it('fails in a directory that does not exist, creating nothing', () => {
    const missing = path.join(dir, 'missing', 'model.safetensors');
    const err = thrown(() => writeSafetensors(missing, first));
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect((err.cause as { code?: string }).code).toBe('ENOENT');
    expect(err.message).toMatch(/the folder .*missing does not exist \(ENOENT\); the previous file, if any, is unchanged/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('keeps the previous file when a tensor fails validation', () => {
    const err = expectPreviousKept(() => writeSafetensors(file, { w: { data: new Float32Array(5), shape: [2, 3] } }));
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toBe('writeSafetensors: tensors["w"] has shape [2, 3] (6 elements), but its data has 5 elements');
  });

  it('keeps the previous file and removes the temporary one when writing fails midway', () => {
    const realWrite = fs.writeSync;
    let calls = 0;
    const err = expectPreviousKept(() => {
      vi.spyOn(fs, 'writeSync').mockImplementation(((...args: Parameters<typeof fs.writeSync>) => {
        if (++calls === 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return (realWrite as (...a: unknown[]) => number)(...args);
      }) as typeof fs.writeSync);
      writeSafetensors(file, second);
    });
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect((err.cause as { code?: string }).code).toBe('ENOSPC');
    expect(calls).toBe(2);
  });

  it('keeps the previous file and removes the temporary one when fsync fails', () => {
    const err = expectPreviousKept(() => {
      vi.spyOn(fs, 'fsyncSync').mockImplementationOnce(() => {
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      });
      writeSafetensors(file, second);
    });
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect((err.cause as { code?: string }).code).toBe('EIO');
  });

  it('keeps the previous file when the rename fails', () => {
    const err = expectPreviousKept(() => {
      vi.spyOn(fs, 'renameSync').mockImplementationOnce(() => {
        throw Object.assign(new Error('EXDEV: cross-device link not permitted, rename'), { code: 'EXDEV' });
      });
      writeSafetensors(file, second);
    });
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect((err.cause as { code?: string }).code).toBe('EXDEV');
  });

  it('removes the temporary file when the target is a directory', () => {
    fs.mkdirSync(file);
    expect(() => writeSafetensors(file, first)).toThrow();
    expect(fs.readdirSync(dir)).toEqual(['model.safetensors']);
    expect(fs.statSync(file).isDirectory()).toBe(true);
  });

  it('fsyncs the temporary file before renaming it, then the directory', () => {
    const order: string[] = [];
    const realFsync = fs.fsyncSync;
    const realRename = fs.renameSync;
    vi.spyOn(fs, 'fsyncSync').mockImplementation((fd) => {
      order.push(fs.fstatSync(fd).isDirectory() ? 'fsync dir' : 'fsync file');
      realFsync(fd);
    });
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      order.push('rename');
      expect(path.dirname(String(from))).toBe(dir);
      expect(String(to)).toBe(file);
      realRename(from, to);
    });
    writeSafetensors(file, first);
    expect(order).toEqual(['fsync file', 'rename', 'fsync dir']);
  });
});
