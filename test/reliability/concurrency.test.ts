/**
 * Concurrency: overlapping async calls on one model give the sequential results or are refused
 * with ERR_LSTM_BUSY; fit together with predict, forward and a session step on the same model is
 * refused (or safe) and leaves fit's result unchanged; the addon in several worker threads at once,
 * terminated mid-call, never takes the process down.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Linear, LSTM, Sequential } from '../../lib/index.js';
import { tensor, type Tensor } from '../../lib/tensor.js';
import { root } from '../cli/helpers.js';
import { rng } from '../infer/helpers.js';

function model(seed: number): Sequential {
  return new Sequential({
    lstm: new LSTM({ inputSize: 3, hiddenSize: 32, numLayers: 2, batchFirst: true, returnSequences: false }),
    head: new Linear({ inFeatures: 32, outFeatures: 2 }),
  }, { seed });
}
function input(seed: number, N: number, T: number): Tensor {
  const next = rng(seed);
  return tensor(Float32Array.from({ length: N * T * 3 }, () => next() * 2 - 1), [N, T, 3]);
}
const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

/** Settles every promise; each must be a value or an ERR_LSTM_BUSY refusal. */
async function settle<T>(ps: Promise<T>[]): Promise<{ ok: T[]; busy: number }> {
  const ok: T[] = [];
  let busy = 0;
  for (const r of await Promise.allSettled(ps)) {
    if (r.status === 'fulfilled') ok.push(r.value);
    else if ((r.reason as { code?: string }).code === 'ERR_LSTM_BUSY') busy++;
    else throw r.reason;
  }
  return { ok, busy };
}

/** A promise with its outcome kept (a handler attached at once, so a refusal is not an unhandled rejection). */
function kept<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

describe('overlapping calls on one model', () => {
  it('40 overlapping predict / forwardAsync calls: each equals the sequential result or is refused with ERR_LSTM_BUSY', async () => {
    const m = model(1).eval();
    const xs = Array.from({ length: 8 }, (_, i) => input(i, 6, 30 + i));
    const expected = [];
    for (const x of xs) expected.push(bits((await m.predict(x)).data));
    const expectedForward = xs.map((x) => bits(m.forward(x, { noGrad: true }).data));
    for (let round = 0; round < 3; round++) {
      const calls = xs.map((x, i) => (i % 2 === 0 ? m.predict(x) : m.forwardAsync(x, { noGrad: true })).then((y) => ({ i, y: bits(y.data) })));
      const { ok, busy } = await settle(calls);
      expect(ok.length + busy).toBe(xs.length);
      expect(ok.length).toBeGreaterThan(0);
      for (const r of ok) expect(r.y).toBe(r.i % 2 === 0 ? expected[r.i] : expectedForward[r.i]);
    }
  });

  it('fit with predict, forward, forwardAsync and a session step at once: refused or safe, and fit gives the same weights', async () => {
    const x = input(3, 64, 20);
    const y = tensor(Float32Array.from({ length: 128 }, (_, k) => Math.sin(k)), [64, 2]);
    const alone = model(2);
    await alone.fit({ x, y }, { epochs: 2, batchSize: 16, seed: 1 });
    const m = model(2);
    const fitting = m.fit({ x, y }, { epochs: 2, batchSize: 16, seed: 1 });
    const session = m.createSession();
    const others: Promise<unknown>[] = [];
    for (let k = 0; k < 30; k++) {
      others.push(kept(m.predict(input(k, 2, 5))));
      others.push(kept(m.forwardAsync(input(k, 2, 5))));
      others.push(kept(session.step([0.1, 0.2, 0.3])));
      others.push(kept(Promise.resolve().then(() => m.forward(input(k, 2, 5)))));
      await new Promise((r) => setImmediate(r));
    }
    const { busy } = await settle(others);
    await fitting;
    expect(busy).toBeGreaterThan(0);
    expect(bits(m.parameters().values)).toBe(bits(alone.parameters().values));
  });
});

describe('the addon in worker threads', () => {
  it('6 workers training and predicting at once, terminated mid-call 18 times: the process lives and results stay right', () => {
    // In a child process, so a crash there fails this test instead of the test runner.
    const script = `
      const { Worker } = await import('node:worker_threads');
      const dist = ${JSON.stringify(join(root, 'dist', 'index.js'))};
      const body = \`
        const { LSTM, Linear, Sequential, tensor } = await import(\${JSON.stringify(dist)});
        const { parentPort } = await import('node:worker_threads');
        const m = new Sequential({ lstm: new LSTM({ inputSize: 3, hiddenSize: 64, batchFirst: true, returnSequences: false }),
          head: new Linear({ inFeatures: 64, outFeatures: 1 }) }, { seed: 4 });
        const x = tensor(new Float32Array(32 * 200 * 3).fill(0.5), [32, 200, 3]);
        const y = tensor(new Float32Array(32).fill(1), [32, 1]);
        parentPort.postMessage('ready');
        for (;;) { await m.predict(x); await m.fit({ x, y }, { batchSize: 8 }); const s = m.createSession(); await s.step([1, 2, 3]); }\`;
      let terminated = 0;
      for (let round = 0; round < 3; round++) {
        const workers = Array.from({ length: 6 }, () => new Worker(body, { eval: true, type: 'module' }));
        await Promise.all(workers.map((w) => new Promise((ok, fail) => { w.once('message', ok); w.once('error', fail); })));
        for (const w of workers) {
          await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 40)));
          await w.terminate();
          terminated++;
        }
      }
      const { LSTM, Linear, Sequential, tensor } = await import(dist);
      const m = new Sequential({ lstm: new LSTM({ inputSize: 3, hiddenSize: 8, batchFirst: true, returnSequences: false }),
        head: new Linear({ inFeatures: 8, outFeatures: 1 }) }, { seed: 1 });
      const x = tensor(new Float32Array(2 * 4 * 3).fill(0.25), [2, 4, 3]);
      const a = m.forward(x, { noGrad: true }).data;
      const b = (await m.predict(x)).data;
      console.log(JSON.stringify({ terminated, same: a.every((v, i) => Math.abs(v - b[i]) < 1e-6) }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 240_000 });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({ terminated: 18, same: true });
  }, 240_000);
});
