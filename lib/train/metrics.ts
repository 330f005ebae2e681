/**
 * Metrics accumulated over an epoch's valid outputs (padding excluded):
 * - accuracy: class ids against the argmax of the output; float targets with one output against a
 *   threshold (logit 0 with bceWithLogits, else 0.5) of both; wider float targets argmax against argmax;
 * - perplexity = exp(mean cross-entropy), bitsPerChar = mean cross-entropy / ln 2 (class-id targets);
 * - mae, rmse: over every valid element (float targets).
 * @internal
 */
import { describe, rangeError, typeError } from '../errors.js';
import { losses } from '../losses.js';
import type { Tensor } from '../tensor.js';
import type { TrainBatch } from './batches.js';
import type { BatchLoss } from './loss.js';
import { rowsOf } from './loss.js';
import type { MetricName } from './types.js';

export const METRIC_NAMES: readonly MetricName[] = ['accuracy', 'perplexity', 'bitsPerChar', 'mae', 'rmse'];

/** Checks the metric names, and against the kind of targets when known (classTargets not null). */
export function checkMetrics(where: string, metrics: unknown, classTargets: boolean | null): MetricName[] {
  if (metrics === undefined) return [];
  if (!Array.isArray(metrics)) throw typeError(`${where}: metrics must be an array of metric names, got ${describe(metrics)}`);
  for (const m of metrics) {
    if (!METRIC_NAMES.includes(m as MetricName)) {
      throw rangeError(`${where}: metrics: unknown metric ${describe(m)}; known: ${METRIC_NAMES.join(', ')}`);
    }
    if ((m === 'perplexity' || m === 'bitsPerChar') && classTargets === false) {
      throw rangeError(`${where}: metrics: ${m} needs class-id targets (a crossEntropy loss)`);
    }
    if ((m === 'mae' || m === 'rmse') && classTargets === true) {
      throw rangeError(`${where}: metrics: ${m} needs float targets, not class ids`);
    }
  }
  return [...new Set(metrics as MetricName[])];
}

function argmax(data: Float32Array, at: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (data[at + j]! > data[at + best]!) best = j;
  return best;
}

/** Running sums of one epoch's metrics; `state()` makes them part of a checkpoint. */
export class MetricSums {
  /** [correct, rows, ceSum, ceCount, absSum, sqSum, elements] */
  private s: [number, number, number, number, number, number, number] = [0, 0, 0, 0, 0, 0, 0];

  constructor(readonly names: readonly MetricName[], private readonly lossName: string) {}

  add(pred: Tensor, batch: TrainBatch, loss: BatchLoss): void {
    if (this.names.length === 0) return;
    const s = this.s;
    const y = batch.y!;
    const mask = batch.rowMask;
    const rows = rowsOf(pred);
    const k = pred.data.length / rows;
    const p = pred.data;
    if (y.data instanceof Int32Array) {
      const ids = y.data;
      if (this.names.includes('accuracy')) {
        for (let r = 0; r < rows; r++) {
          if (ids[r]! < 0) continue;
          s[1]++;
          if (argmax(p, r * k, k) === ids[r]) s[0]++;
        }
      }
      if (this.names.includes('perplexity') || this.names.includes('bitsPerChar')) {
        const sum = this.lossName === 'crossEntropy' ? loss.loss * loss.count
          : (losses.crossEntropy(pred, y as Tensor<Int32Array>, { reduction: 'sum' }).loss as number);
        s[2] += sum;
        s[3] += loss.count;
      }
      return;
    }
    const t = y.data;
    const bce = this.lossName === 'bceWithLogits';
    for (let r = 0; r < rows; r++) {
      if (mask && mask[r] === 0) continue;
      s[1]++;
      if (k === 1) {
        if ((bce ? p[r]! > 0 : p[r]! >= 0.5) === (t[r]! >= 0.5)) s[0]++;
      } else if (argmax(p, r * k, k) === argmax(t, r * k, k)) s[0]++;
      for (let j = 0; j < k; j++) {
        const d = p[r * k + j]! - t[r * k + j]!;
        s[4] += Math.abs(d);
        s[5] += d * d;
        s[6]++;
      }
    }
  }

  values(): Record<string, number> {
    const [correct, rows, ce, ceN, abs, sq, n] = this.s;
    const out: Record<string, number> = {};
    for (const m of this.names) {
      switch (m) {
        case 'accuracy': out[m] = correct / rows; break;
        case 'perplexity': out[m] = Math.exp(ce / ceN); break;
        case 'bitsPerChar': out[m] = ce / ceN / Math.LN2; break;
        case 'mae': out[m] = abs / n; break;
        case 'rmse': out[m] = Math.sqrt(sq / n); break;
      }
    }
    return out;
  }

  state(): number[] {
    return [...this.s];
  }

  load(s: number[]): void {
    this.s = [s[0] ?? 0, s[1] ?? 0, s[2] ?? 0, s[3] ?? 0, s[4] ?? 0, s[5] ?? 0, s[6] ?? 0];
  }
}
