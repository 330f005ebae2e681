/**
 * The session pool of one model: the steps that sessions ask for during one turn of the event loop
 * run as one batch (B = the number of sessions stepping, T = 1): their states are gathered into
 * (S, B, H) arrays, the model runs once off the main thread, and outputs and final states are
 * scattered back. Steps asked for while a batch runs form the next batch, so a thousand sessions
 * cost about one batched inference per tick instead of a thousand single-sequence calls.
 *
 * A session has at most one step in any batch (its next step needs this one's state); later steps
 * of the same session wait for the following batch, in the order they were asked for.
 * @internal
 */
import type { Module } from '../layers/module.js';
import type { Tensor } from '../tensor.js';
import { Stepper } from './stepper.js';

/** A step waiting for its batch. */
interface Pending {
  state: Float32Array;
  x: number | Float32Array;
  resolve: (y: Tensor) => void;
  reject: (err: unknown) => void;
}

export class SessionPool {
  readonly stepper: Stepper;
  private queue: Pending[] = [];
  private scheduled = false;
  private running = false;
  /** Largest batch per kernel call; more pending steps wait for the next tick. */
  maxBatch = 4096;
  /** Batches run and steps served since the pool was made (for benchmarks and tests). */
  readonly stats = { batches: 0, steps: 0 };

  constructor(model: Module) {
    this.stepper = new Stepper(model, 'createSession', true);
  }

  /** Queues one step of the session whose state vector is `state`; resolves with its output (F). */
  step(state: Float32Array, x: number | Float32Array): Promise<Tensor> {
    return new Promise<Tensor>((resolve, reject) => {
      this.queue.push({ state, x, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    // setImmediate, not a microtask: every step asked for in this turn (e.g. by a loop over
    // sessions, or by continuations of the last batch's promises) joins the batch.
    setImmediate(() => {
      this.scheduled = false;
      void this.tick();
    });
  }

  private async tick(): Promise<void> {
    this.running = true;
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const inBatch = new Set<Float32Array>();
    for (const p of this.queue) {
      if (batch.length < this.maxBatch && !inBatch.has(p.state)) {
        inBatch.add(p.state);
        batch.push(p);
      } else {
        rest.push(p);
      }
    }
    this.queue = rest;
    try {
      await this.runBatch(batch);
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const st = this.stepper;
    const B = batch.length;
    const n = st.stateSize;
    const state = new Float32Array(B * n);
    batch.forEach((p, b) => state.set(p.state, b * n));
    let x: Float32Array | Int32Array;
    if (st.input.kind === 'tokens') {
      x = Int32Array.from(batch, (p) => p.x as number);
    } else {
      const I = st.input.size;
      x = new Float32Array(B * I);
      batch.forEach((p, b) => (x as Float32Array).set(p.x as Float32Array, b * I));
    }
    const r = await st.run({ T: 1, B, x, lengths: null, state, keepState: true, everyStep: true });
    this.stats.batches++;
    this.stats.steps += B;
    const F = r.F;
    batch.forEach((p, b) => {
      p.state.set(state.subarray(b * n, (b + 1) * n));
      p.resolve({ data: r.y.slice(b * F, (b + 1) * F), shape: [F] });
    });
  }
}

const pools = new WeakMap<Module, SessionPool>();

/** The one pool of `model` (made on first use). */
export function poolOf(model: Module): SessionPool {
  let pool = pools.get(model);
  if (!pool) {
    pool = new SessionPool(model);
    pools.set(model, pool);
  }
  return pool;
}
