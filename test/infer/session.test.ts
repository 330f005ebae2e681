/**
 * Stateful sessions: stepping one step at a time equals running the whole sequence; concurrent
 * sessions are batched into one kernel call per tick without mixing their states; state can be
 * saved, restored and reset; bad steps are rejected without touching other sessions.
 */
import { describe, expect, it } from 'vitest';
import { createSession, LSTM, Sequential, Linear } from '../../lib/index.js';
import { poolOf } from '../../lib/infer/session-pool.js';
import { featureModel, maxDiff, randomSeq, referenceSteps, rng, tokenModel } from './helpers.js';

describe('Session', () => {
  it('steps of a feature model equal the full-sequence forward, step by step', async () => {
    const model = featureModel();
    const seq = randomSeq(rng(1), 7);
    const ref = referenceSteps(model, seq);
    const session = model.createSession();
    for (let t = 0; t < seq.length; t++) {
      const y = await session.step(seq[t]!);
      expect(y.shape).toEqual([2]);
      expect(maxDiff(y.data, ref.subarray(t * 2, t * 2 + 2))).toBeLessThan(1e-5);
    }
  });

  it('steps of a token model equal the full-sequence forward', async () => {
    const model = tokenModel();
    const tokens = [3, 1, 4, 1, 5, 9, 2, 6];
    const ref = referenceSteps(model, tokens);
    const session = createSession(model);
    for (let t = 0; t < tokens.length; t++) {
      const y = await session.step(tokens[t]!);
      expect(maxDiff(y.data, ref.subarray(t * 11, (t + 1) * 11))).toBeLessThan(1e-5);
    }
  });

  it('batches 200 concurrent sessions into one kernel call per tick and keeps their states apart', async () => {
    const model = featureModel(5);
    const pool = poolOf(model);
    const next = rng(2);
    const seqs = Array.from({ length: 200 }, () => randomSeq(next, 5));
    const sessions = seqs.map(() => model.createSession());
    const before = { ...pool.stats };
    const outputs = await Promise.all(sessions.map(async (s, i) => {
      const ys: Float32Array[] = [];
      for (const x of seqs[i]!) ys.push((await s.step(x)).data);
      return ys;
    }));
    expect(pool.stats.steps - before.steps).toBe(200 * 5);
    expect(pool.stats.batches - before.batches).toBe(5);
    seqs.forEach((seq, i) => {
      const ref = referenceSteps(model, seq);
      outputs[i]!.forEach((y, t) => expect(maxDiff(y, ref.subarray(t * 2, t * 2 + 2))).toBeLessThan(1e-5));
    });
  });

  it('runs two steps of one session asked for at once in order, in two batches', async () => {
    const model = featureModel(6);
    const seq = randomSeq(rng(3), 2);
    const s = model.createSession();
    const [a, b] = await Promise.all([s.step(seq[0]!), s.step(seq[1]!)]);
    const ref = referenceSteps(model, seq);
    expect(maxDiff(a.data, ref.subarray(0, 2))).toBeLessThan(1e-5);
    expect(maxDiff(b.data, ref.subarray(2, 4))).toBeLessThan(1e-5);
  });

  it('getState/setState moves a stream to another session; reset goes back to zeros', async () => {
    const model = featureModel(7);
    const seq = randomSeq(rng(4), 4);
    const a = model.createSession();
    for (const x of seq.slice(0, 3)) await a.step(x);
    const saved = a.getState();
    expect(saved.lstm!.h.shape).toEqual([2, 1, 8]);
    expect(saved.lstm!.c.shape).toEqual([2, 1, 8]);
    const b = model.createSession({ state: saved });
    const ya = await a.step(seq[3]!);
    const yb = await b.step(seq[3]!);
    expect(Array.from(yb.data)).toEqual(Array.from(ya.data));
    a.reset();
    const fresh = model.createSession();
    expect(Array.from((await a.step(seq[0]!)).data)).toEqual(Array.from((await fresh.step(seq[0]!)).data));
  });

  it('rejects bad steps and states with errors naming them, without disturbing other sessions', async () => {
    const model = featureModel(8);
    const good = model.createSession();
    const bad = model.createSession();
    const seq = randomSeq(rng(5), 1);
    const [y, err1, err2] = await Promise.allSettled([good.step(seq[0]!), bad.step([1, 2]), bad.step([1, NaN, 2])]);
    expect(y.status).toBe('fulfilled');
    expect((err1 as PromiseRejectedResult).reason.message).toMatch(/x must have 3 features, got 2/);
    expect((err2 as PromiseRejectedResult).reason.message).toMatch(/x\[1\] must be a finite number/);
    const tok = tokenModel().createSession();
    await expect(tok.step(11)).rejects.toThrow(/token id in \[0, 11\)/);
    await expect(tok.step(1.5)).rejects.toThrow(/token id/);
    expect(() => bad.setState({ lstm: { h: { data: new Float32Array(3), shape: [3] }, c: { data: new Float32Array(16), shape: [2, 1, 8] } } }))
      .toThrow(/lstm\.h must have shape \[2, 1, 8\]/);
    expect(() => bad.setState({ nope: {} as never })).toThrow(/unknown LSTM nope/);
    const pending = good.step(seq[0]!);
    expect(() => good.reset()).toThrow(/pending/);
    await pending;
  });

  it('refuses a bidirectional model', () => {
    const model = new Sequential({ lstm: new LSTM({ inputSize: 2, hiddenSize: 3, bidirectional: true }), head: new Linear({ inFeatures: 6, outFeatures: 1 }) });
    expect(() => model.createSession()).toThrow(/bidirectional/);
  });
});
