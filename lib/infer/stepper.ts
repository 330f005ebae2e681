/**
 * The inference engine under sessions, generation and batch prediction: runs a model (a Sequential
 * of Embedding, LSTM, Linear and Dropout layers, nested Sequentials, or a lone LSTM) over a batch of
 * B sequences of T steps, off the main thread (each LSTM is one async native call per
 * layer-direction), optionally starting from and returning each sequence's (h, c) for every LSTM.
 *
 * Data flows time-major inside, (T, B, features), which is what the LSTM kernel takes, so no layout
 * changes happen between layers whatever each LSTM's batchFirst says. Dropout is skipped
 * (inference). Runs on one model are serialised: the model's layers hold one set of buffers.
 * @internal
 */
import { describe, LstmError, typeError } from '../errors.js';
import { sequentialLayers } from '../io/architecture.js';
import { Dropout } from '../layers/dropout.js';
import { Embedding } from '../layers/embedding.js';
import { Linear } from '../layers/linear.js';
import { LSTM } from '../layers/lstm.js';
import type { Module } from '../layers/module.js';
import { Sequential } from '../layers/sequential.js';
import type { Tensor } from '../tensor.js';

/** What a model takes at each step: token ids below `vocabSize`, or `size` features. */
export type StepInput = { kind: 'tokens'; vocabSize: number } | { kind: 'features'; size: number };

/** One LSTM of the model and where its (h, c) sits in a sequence's state vector. */
export interface StateSlot {
  /** The layer's path in the model (`lstm`, `encoder.lstm`), the key of a session's state. */
  name: string;
  layer: LSTM;
  /** States per sequence: numLayers * directions. */
  S: number;
  Hout: number;
  H: number;
  /** Offset of h (S * Hout floats), then c (S * H floats), in the state vector. */
  offset: number;
}

type Stage = { kind: 'lstm'; slot: StateSlot } | { kind: 'embedding'; layer: Embedding } | { kind: 'linear'; layer: Linear };

/** A batch to run: x time-major, (T, B, I) floats or (T, B) token ids. */
export interface StepBatch {
  T: number;
  B: number;
  x: Float32Array | Int32Array;
  /** Valid steps per sequence (each in [1, T]); null: all T. */
  lengths: Int32Array | null;
  /**
   * Initial states, B consecutive state vectors of {@link Stepper.stateSize} floats (null: zeros).
   * With `keepState`, overwritten with the final states.
   */
  state: Float32Array | null;
  keepState?: boolean;
  /** Every step's output even where an LSTM has returnSequences false. Default false. */
  everyStep?: boolean;
  /**
   * Only each sequence's last valid step is wanted (not with everyStep): the last LSTM's output is
   * cut to that step before the layers after it run, so they work on B rows instead of T x B. The
   * result is then (B, F), the values the (T, B, F) result holds at step `lengths[b] - 1`.
   */
  lastStep?: boolean;
}

/** The model's output: (T, B, F) time-major when `perStep`, else (B, F). */
export interface StepResult {
  y: Float32Array;
  perStep: boolean;
  F: number;
}

const locks = new WeakMap<Module, Promise<unknown>>();

/** Runs `job` after every earlier job on the same model has settled. */
function serialise<T>(model: Module, job: () => Promise<T>): Promise<T> {
  const before = locks.get(model) ?? Promise.resolve();
  const run = before.then(job, job);
  locks.set(model, run.catch(() => undefined));
  return run;
}

export class Stepper {
  readonly input: StepInput;
  readonly stages: readonly Stage[];
  readonly slots: readonly StateSlot[];
  /** Floats in one sequence's state vector (every LSTM's h then c). */
  readonly stateSize: number;
  /** Features of the model's output per step. */
  readonly outputSize: number;

  /**
   * @param stateful the caller carries state between calls: every LSTM must be unidirectional
   *   and keep every step (a reverse direction would need the future)
   * @throws TypeError for a model that holds a layer this engine cannot run
   */
  constructor(readonly model: Module, where: string, stateful: boolean) {
    const stages: Stage[] = [];
    const slots: StateSlot[] = [];
    let offset = 0;
    const walk = (m: Module, path: string) => {
      if (m instanceof Sequential) {
        for (const [name, layer] of sequentialLayers(m)) walk(layer, path ? `${path}.${name}` : name);
      } else if (m instanceof LSTM) {
        const S = m.numLayers * (m.bidirectional ? 2 : 1);
        if (stateful && m.bidirectional) {
          throw typeError(`${where}: layer "${path || 'lstm'}" is bidirectional; a step-by-step model needs unidirectional LSTMs (the reverse direction reads the future)`);
        }
        const slot = { name: path || 'lstm', layer: m, S, Hout: m.outputSize, H: m.hiddenSize, offset };
        offset += S * (m.outputSize + m.hiddenSize);
        slots.push(slot);
        stages.push({ kind: 'lstm', slot });
      } else if (m instanceof Embedding) {
        stages.push({ kind: 'embedding', layer: m });
      } else if (m instanceof Linear) {
        stages.push({ kind: 'linear', layer: m });
      } else if (!(m instanceof Dropout)) {
        throw typeError(`${where}: model must be a Sequential of Embedding, LSTM, Linear and Dropout layers or an LSTM; layer "${path}" is ${describe(m)} (${m.constructor.name})`);
      }
    };
    walk(model, '');
    if (slots.length === 0) throw typeError(`${where}: model has no LSTM layer`);
    this.stages = stages;
    this.slots = slots;
    this.stateSize = offset;
    const first = stages[0]!;
    this.input = first.kind === 'embedding' ? { kind: 'tokens', vocabSize: first.layer.numEmbeddings }
      : { kind: 'features', size: first.kind === 'lstm' ? first.slot.layer.inputSize : first.layer.inFeatures };
    const last = stages[stages.length - 1]!;
    this.outputSize = last.kind === 'linear' ? last.layer.outFeatures
      : last.kind === 'lstm' ? last.slot.S / last.slot.layer.numLayers * last.slot.Hout : last.layer.embeddingDim;
  }

  /** Runs a batch off the main thread (after any earlier run on the same model). */
  run(batch: StepBatch): Promise<StepResult> {
    return serialise(this.model, () => this.runNow(batch));
  }

  private async runNow(batch: StepBatch): Promise<StepResult> {
    const { T, B, lengths, state } = batch;
    let data: Float32Array | Int32Array = batch.x;
    let F = this.input.kind === 'features' ? this.input.size : 1;
    let perStep = true;
    const lastLstm = this.stages.reduce((at, s, i) => (s.kind === 'lstm' ? i : at), -1);
    for (const [i, stage] of this.stages.entries()) {
      if (stage.kind === 'embedding') {
        const out = stage.layer.forwardChain({ data: data as Int32Array, shape: [T, B] }, { lengths: null, noGrad: true });
        data = out.data;
        F = stage.layer.embeddingDim;
      } else if (stage.kind === 'linear') {
        const out = stage.layer.forwardChain({ data: data as Float32Array, shape: perStep ? [T, B, F] : [B, F] } as Tensor,
          { lengths: null, noGrad: true });
        data = out.data;
        F = stage.layer.outFeatures;
      } else {
        if (!perStep) throw new LstmError(`${stage.slot.name}: an LSTM after one with returnSequences false has no steps to run over`, 'ERR_LSTM_STATE');
        const { slot } = stage;
        const h0 = state ? this.gather(state, B, slot, 'h') : null;
        const c0 = state ? this.gather(state, B, slot, 'c') : null;
        const lastOnly = batch.lastStep && !batch.everyStep && i === lastLstm && slot.layer.returnSequences;
        const finalOnly = !slot.layer.returnSequences && !batch.everyStep;
        const where = `${slot.name}.forwardAsync`;
        // Only read below, before anything else runs on this LSTM: its every-step output can go
        // to the engine's reused array instead of a new one per batch.
        const D = slot.layer.bidirectional ? 2 : 1;
        const out = lastOnly || finalOnly ? { y: slot.layer.stack.scratch('output', T * B * D * slot.Hout, where) } : {};
        const r = await slot.layer.stack.forwardAsync(data as Float32Array, T, B, h0, c0, lengths, where, false, undefined, out);
        if (state && batch.keepState) {
          this.scatter(state, B, slot, 'h', r.hn);
          this.scatter(state, B, slot, 'c', r.cn);
        }
        F = D * slot.Hout;
        if (lastOnly) {
          data = lastValidSteps(r.y, T, B, F, lengths);
          perStep = false;
        } else if (!finalOnly) {
          data = r.y;
        } else {
          data = lastOfTopLayer(r.hn, slot, B);
          perStep = false;
        }
      }
    }
    return { y: data as Float32Array, perStep, F };
  }

  /** (S, B, n) from B state vectors: the h (or c) of `slot` for every sequence. */
  private gather(state: Float32Array, B: number, slot: StateSlot, which: 'h' | 'c'): Float32Array {
    const n = which === 'h' ? slot.Hout : slot.H;
    const base = slot.offset + (which === 'h' ? 0 : slot.S * slot.Hout);
    const out = new Float32Array(slot.S * B * n);
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < slot.S; s++) {
        const from = b * this.stateSize + base + s * n;
        out.set(state.subarray(from, from + n), (s * B + b) * n);
      }
    }
    return out;
  }

  /** The inverse of gather: (S, B, n) back into the B state vectors. */
  private scatter(state: Float32Array, B: number, slot: StateSlot, which: 'h' | 'c', src: Float32Array): void {
    const n = which === 'h' ? slot.Hout : slot.H;
    const base = slot.offset + (which === 'h' ? 0 : slot.S * slot.Hout);
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < slot.S; s++) {
        state.set(src.subarray((s * B + b) * n, (s * B + b + 1) * n), b * this.stateSize + base + s * n);
      }
    }
  }
}

/** (B, F): row b of (T, B, F) time-major `y` at step lengths[b] - 1 (T - 1 without lengths). */
function lastValidSteps(y: Float32Array, T: number, B: number, F: number, lengths: Int32Array | null): Float32Array {
  const out = new Float32Array(B * F);
  for (let b = 0; b < B; b++) {
    const at = ((lengths ? lengths[b]! : T) - 1) * B * F + b * F;
    out.set(y.subarray(at, at + F), b * F);
  }
  return out;
}

/** (B, D*Hout): the top layer's final h of each direction (the last valid step forward, the first in reverse). */
function lastOfTopLayer(hn: Float32Array, slot: StateSlot, B: number): Float32Array {
  const D = slot.layer.bidirectional ? 2 : 1;
  const Ho = slot.Hout;
  const out = new Float32Array(B * D * Ho);
  for (let d = 0; d < D; d++) {
    const src = ((slot.layer.numLayers - 1) * D + d) * B * Ho;
    for (let b = 0; b < B; b++) out.set(hn.subarray(src + b * Ho, src + (b + 1) * Ho), (b * D + d) * Ho);
  }
  return out;
}
