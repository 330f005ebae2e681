/**
 * Batch inference over a stream: any (async) iterable of sequences in, an async iterable of results
 * out, in input order. Rows are read into a bounded window, sorted by length inside it and cut into
 * batches of similar lengths (little padding), each batch runs off the main thread, and the window's
 * results are yielded in input order. The next window is read while the current one computes, and
 * starts computing while the current one's results are consumed, so at most two windows of rows
 * and results are held: memory stays flat for any input length. The
 * consumer's pace bounds the reading (nothing is read ahead of two windows).
 */
import { LstmError, rangeError, typeError, describe } from '../errors.js';
import type { Module } from '../layers/module.js';
import type { Tensor } from '../tensor.js';
import { checkBoolean, checkInteger, checkOptions } from '../validate.js';
import type { SessionState } from './session.js';
import { checkToken, copyFeatures } from './step-input.js';
import { Stepper } from './stepper.js';

/**
 * One input sequence: `{ input: [[...], ...] }` (T feature vectors) or `{ tokens: [...] }` (T token
 * ids), with any other fields (an `id`) kept in the result's `item`; or a bare array of feature
 * vectors. An `Error` in the stream stands for a row the reader could not parse: it comes back as
 * that row's error result.
 */
export type PredictItem = { input?: unknown; tokens?: unknown; [key: string]: unknown } | ArrayLike<ArrayLike<number>> | Error;

/** Options of {@link predictStream}. */
export interface PredictStreamOptions {
  /** Sequences per kernel call. Default 64. */
  batchSize?: number;
  /** Rows read ahead and sorted by length for batching; a multiple of batchSize is best. Default 16 * batchSize. */
  window?: number;
  /** Output every step (T, F) instead of the last valid step (F). Default false. */
  allSteps?: boolean;
  /** Also return each sequence's final (h, c) of every LSTM. Default false. */
  state?: boolean;
  /** Throw on the first bad row instead of yielding an error result for it. Default false. */
  strict?: boolean;
}

/** One result, in input order; `index` counts items from 0. */
export type PredictResult<T = PredictItem> =
  | { index: number; item: T; output: Tensor; state?: SessionState; error?: undefined }
  | { index: number; item: T; error: Error; output?: undefined; state?: undefined };

interface Row {
  index: number;
  item: PredictItem;
  T: number;
  data: Float32Array | Int32Array | null;
  error: Error | null;
}

/** Checks one item and flattens its steps; a bad item becomes an error row. */
function parseRow(stepper: Stepper, index: number, item: PredictItem): Row {
  const where = `row ${index}`;
  try {
    if (item instanceof Error) throw item;
    const input = stepper.input;
    if (input.kind === 'tokens') {
      const tokens = item !== null && typeof item === 'object' && 'tokens' in item ? item.tokens : undefined;
      if (!Array.isArray(tokens) && !(ArrayBuffer.isView(tokens) && !(tokens instanceof DataView))) {
        throw typeError(`${where}: tokens must be an array of token ids (the model starts with an Embedding), got ${describe(tokens)}`);
      }
      const t = tokens as ArrayLike<unknown>;
      if (t.length === 0) throw rangeError(`${where}: tokens must not be empty`);
      const data = new Int32Array(t.length);
      const V = input.vocabSize;
      for (let i = 0; i < t.length; i++) {
        const v = t[i];
        // The common case without building checkToken's argument name for every token.
        data[i] = typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < V ? v : checkToken(where, `tokens[${i}]`, v, V);
      }
      return { index, item, T: t.length, data, error: null };
    }
    const steps = Array.isArray(item) ? item
      : item !== null && typeof item === 'object' && 'input' in item ? (item as { input: unknown }).input : undefined;
    if (!Array.isArray(steps)) throw typeError(`${where}: input must be an array of steps, each an array of ${input.size} numbers, got ${describe(steps)}`);
    if (steps.length === 0) throw rangeError(`${where}: input must not be empty`);
    const data = new Float32Array(steps.length * input.size);
    for (let t = 0; t < steps.length; t++) copyFeatures(where, `input[${t}]`, steps[t], input.size, data, t * input.size);
    return { index, item, T: steps.length, data, error: null };
  } catch (err) {
    return { index, item, T: 0, data: null, error: err instanceof Error ? err : new Error(String(err)) };
  }
}

/** Runs rows of similar length as one padded batch; returns each row's result. */
async function runBatch(stepper: Stepper, rows: Row[], allSteps: boolean, wantState: boolean): Promise<PredictResult[]> {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.T));
  const I = stepper.input.kind === 'features' ? stepper.input.size : 1;
  const x = stepper.input.kind === 'tokens' ? new Int32Array(T * B) : new Float32Array(T * B * I);
  const lengths = new Int32Array(B);
  rows.forEach((row, b) => {
    lengths[b] = row.T;
    const src = row.data!;
    for (let t = 0; t < row.T; t++) {
      const to = (t * B + b) * I;
      for (let i = 0; i < I; i++) x[to + i] = src[t * I + i]!;
    }
  });
  const n = stepper.stateSize;
  const state = wantState ? new Float32Array(B * n) : null;
  const r = await stepper.run({ T, B, x, lengths: lengths.some((l) => l !== T) ? lengths : null, state, keepState: true,
    everyStep: allSteps, lastStep: !allSteps });
  const F = r.F;
  return rows.map((row, b) => {
    let output: Tensor;
    if (allSteps) {
      const data = new Float32Array(row.T * F);
      for (let t = 0; t < row.T; t++) data.set(r.y.subarray((t * B + b) * F, (t * B + b + 1) * F), t * F);
      output = { data, shape: [row.T, F] };
    } else {
      const at = r.perStep ? ((row.T - 1) * B + b) * F : b * F;
      output = { data: r.y.slice(at, at + F), shape: [F] };
    }
    const result: PredictResult = { index: row.index, item: row.item, output };
    if (state) {
      const s: SessionState = {};
      for (const slot of stepper.slots) {
        const base = b * n + slot.offset;
        s[slot.name] = {
          h: { data: state.slice(base, base + slot.S * slot.Hout), shape: [slot.S, 1, slot.Hout] },
          c: { data: state.slice(base + slot.S * slot.Hout, base + slot.S * (slot.Hout + slot.H)), shape: [slot.S, 1, slot.H] },
        };
      }
      result.state = s;
    }
    return result;
  });
}

/** Computes one window: batches of similar lengths, results back in the window's order. */
async function runWindow(stepper: Stepper, rows: Row[], batchSize: number, allSteps: boolean, wantState: boolean,
  strict: boolean): Promise<PredictResult[]> {
  const results: PredictResult[] = new Array(rows.length);
  const good: number[] = [];
  rows.forEach((row, i) => {
    if (row.error) {
      if (strict) throw new LstmError(`predictStream: ${row.error.message}`, 'ERR_LSTM_ARG_RANGE', { cause: row.error });
      results[i] = { index: row.index, item: row.item, error: row.error };
    } else {
      good.push(i);
    }
  });
  good.sort((a, b) => rows[a]!.T - rows[b]!.T || a - b);
  for (let k = 0; k < good.length; k += batchSize) {
    const idx = good.slice(k, k + batchSize);
    const out = await runBatch(stepper, idx.map((i) => rows[i]!), allSteps, wantState);
    idx.forEach((i, j) => { results[i] = out[j]!; });
  }
  return results;
}

/**
 * Runs `model` over every sequence of `items` and yields one result per item, in input order: the
 * output of the last valid step (F), or of every step (T, F) with `allSteps`, or the error of a bad
 * row (wrong feature count, non-numbers, a token outside the vocabulary, an empty sequence) without
 * stopping the stream (`strict` makes it throw). The kernel runs off the main thread; at most two
 * windows of rows are held in memory.
 * @param model a Sequential of Embedding/LSTM/Linear/Dropout layers, or an LSTM
 * @throws TypeError / RangeError for bad options or a model that cannot be run
 * @example
 * for await (const r of predictStream(model, rows, { batchSize: 128 })) {
 *   if (r.error) console.error(r.index, r.error.message); else use(r.output.data);
 * }
 */
export function predictStream<T extends PredictItem>(model: Module, items: AsyncIterable<T> | Iterable<T>,
  options?: PredictStreamOptions): AsyncIterable<PredictResult<T>> {
  const where = 'predictStream';
  const o = checkOptions(where, options, ['batchSize', 'window', 'allSteps', 'state', 'strict']);
  const batchSize = checkInteger(where, 'batchSize', o.batchSize ?? 64);
  const window = checkInteger(where, 'window', o.window ?? 16 * batchSize);
  const allSteps = checkBoolean(where, 'allSteps', o.allSteps ?? false);
  const wantState = checkBoolean(where, 'state', o.state ?? false);
  const strict = checkBoolean(where, 'strict', o.strict ?? false);
  const isIterable = items !== null && typeof items === 'object'
    && (Symbol.asyncIterator in items || Symbol.iterator in items);
  if (!isIterable) throw typeError(`${where}: items must be an iterable or async iterable of sequences, got ${describe(items)}`);
  const stepper = new Stepper(model, where, false);

  async function* run(): AsyncGenerator<PredictResult<T>> {
    const source = (Symbol.asyncIterator in items ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (items as Iterable<T>)[Symbol.iterator]()) as AsyncIterator<T> | Iterator<T>;
    let index = 0;
    let done = false;
    const readWindow = async (): Promise<Row[]> => {
      const rows: Row[] = [];
      while (!done && rows.length < window) {
        const next = await source.next();
        if (next.done) { done = true; break; }
        rows.push(parseRow(stepper, index++, next.value));
      }
      return rows;
    };
    const start = (rows: Row[]): Promise<PredictResult[]> | null => {
      if (rows.length === 0) return null;
      const computing = runWindow(stepper, rows, batchSize, allSteps, wantState, strict);
      computing.catch(() => undefined);  // a failure surfaces when awaited
      return computing;
    };
    try {
      let computing = start(await readWindow());
      while (computing) {
        // Read the next window while this one computes, and start computing it before this one's
        // results are handed out, so the kernel keeps working while the consumer writes them.
        const nextRows = await readWindow();
        const results = await computing;
        computing = start(nextRows);
        for (const r of results) yield r as PredictResult<T>;
      }
    } finally {
      if (!done) await source.return?.();
    }
  }
  return { [Symbol.asyncIterator]: run };
}
