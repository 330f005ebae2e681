/**
 * Stateful sessions: one live sequence (a sensor stream, a chat user) fed one step at a time, with
 * its own (h, c) for every LSTM of the model. Every session of a model shares the model's pool,
 * which runs the steps asked for in the same tick as one batch (session-pool.ts).
 */
import { LstmError, rangeError, typeError, describe } from '../errors.js';
import type { Module } from '../layers/module.js';
import { checkTensor, type Tensor } from '../tensor.js';
import { checkOptions } from '../validate.js';
import { poolOf, type SessionPool } from './session-pool.js';
import { readStep } from './step-input.js';

/** Options of {@link createSession}. */
export interface SessionOptions {
  /** Initial state (as {@link Session.getState} returns); zeros when omitted. */
  state?: SessionState;
}

/**
 * A session's recurrent state: for each LSTM of the model, by its path in the model (`lstm`,
 * `encoder.lstm`, ...), h (numLayers, 1, Hout) and c (numLayers, 1, H): what LSTM.forward takes as
 * h0/c0 for a batch of one.
 */
export type SessionState = Record<string, { h: Tensor; c: Tensor }>;

/**
 * One stateful stream through a model. Steps are processed in the order they are asked for.
 * @example
 * const session = model.createSession();
 * const y1 = await session.step([0.1, 0.2]);   // feature model: one vector per step
 * const y2 = await session.step([0.3, 0.1]);   // continues from the state after y1
 * const saved = session.getState();            // persist, later: other.setState(saved)
 */
export class Session {
  private readonly pool: SessionPool;
  private readonly state: Float32Array;
  private pending = 0;

  /** @internal use `model.createSession()` or {@link createSession} */
  constructor(model: Module, options?: SessionOptions) {
    const o = checkOptions('createSession', options, ['state']);
    this.pool = poolOf(model);
    this.state = new Float32Array(this.pool.stepper.stateSize);
    if (o.state !== undefined) this.setState(o.state as SessionState);
  }

  /** What a step takes: token ids below vocabSize, or `size` features. */
  get input() {
    return this.pool.stepper.input;
  }

  /**
   * Consumes one time step and resolves with the model's output for it (F values, shape [F]).
   * @param x a token id (a number, or shape [1]) for a model that starts with an Embedding, else
   *   a feature vector (array, Float32Array or tensor of shape [inputSize])
   * @throws (as a rejection) TypeError / RangeError for a wrong kind, size or value of x
   */
  async step(x: number | ArrayLike<number> | Tensor): Promise<Tensor> {
    const value = readStep('session.step', x, this.pool.stepper.input);
    this.pending++;
    try {
      return await this.pool.step(this.state, value);
    } finally {
      this.pending--;
    }
  }

  /** Back to the zero state. @throws LstmError ERR_LSTM_BUSY while a step is pending */
  reset(): void {
    this.assertIdle('session.reset');
    this.state.fill(0);
  }

  /** A copy of the state, for persistence; see {@link SessionState}. */
  getState(): SessionState {
    const out: SessionState = {};
    for (const s of this.pool.stepper.slots) {
      const L = s.S;
      out[s.name] = {
        h: { data: this.state.slice(s.offset, s.offset + L * s.Hout), shape: [L, 1, s.Hout] },
        c: { data: this.state.slice(s.offset + L * s.Hout, s.offset + L * (s.Hout + s.H)), shape: [L, 1, s.H] },
      };
    }
    return out;
  }

  /**
   * Replaces the state (every LSTM's h and c, as {@link Session.getState} returns it).
   * @throws TypeError / RangeError naming the LSTM and tensor that do not fit; nothing changes then
   * @throws LstmError ERR_LSTM_BUSY while a step is pending
   */
  setState(state: SessionState): void {
    const where = 'session.setState';
    this.assertIdle(where);
    if (state === null || typeof state !== 'object') throw typeError(`${where}: state must be an object of LSTM name -> { h, c }, got ${describe(state)}`);
    const slots = this.pool.stepper.slots;
    const names = slots.map((s) => s.name);
    const unknown = Object.keys(state).filter((k) => !names.includes(k));
    if (unknown.length) throw rangeError(`${where}: state has unknown LSTM ${unknown.join(', ')}; this model's LSTMs: ${names.join(', ')}`);
    const next = new Float32Array(this.state.length);
    for (const s of slots) {
      const entry = state[s.name];
      if (!entry || typeof entry !== 'object') throw typeError(`${where}: state.${s.name} must be { h, c }, got ${describe(entry)}`);
      const h = checkTensor(where, `${s.name}.h`, entry.h, [s.S, 1, s.Hout], Float32Array, 'numLayers, 1, Hout').data;
      const c = checkTensor(where, `${s.name}.c`, entry.c, [s.S, 1, s.H], Float32Array, 'numLayers, 1, hiddenSize').data;
      for (const [name, v] of [['h', h], ['c', c]] as const) {
        const bad = v.findIndex((e) => !Number.isFinite(e));
        if (bad >= 0) throw rangeError(`${where}: ${s.name}.${name}[${bad}] must be finite, got ${v[bad]}`);
      }
      next.set(h, s.offset);
      next.set(c, s.offset + s.S * s.Hout);
    }
    this.state.set(next);
  }

  private assertIdle(where: string): void {
    if (this.pending > 0) throw new LstmError(`${where}: a step is pending; await it first`, 'ERR_LSTM_BUSY');
  }
}

/**
 * Makes a stateful session on `model` (a Sequential of Embedding/LSTM/Linear/Dropout layers with
 * unidirectional LSTMs, or an LSTM). Also available as `model.createSession()`.
 * @throws TypeError for a model with a bidirectional LSTM or a layer that cannot be stepped
 */
export function createSession(model: Module, options?: SessionOptions): Session {
  return new Session(model, options);
}
