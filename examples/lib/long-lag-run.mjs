// The training run behind examples/adding.mjs and examples/temporal-order.mjs, also used by the CI
// learning tests: LSTM (chrono initialisation) -> Linear on the last valid step, Adam, global norm
// clipping, fresh training sequences every batch, trained with `model.fit` one evaluation period at a
// time; after each period a fresh test set is drawn and counted. The recipe is the PyTorch
// baseline's (shared/baselines/longlag.py), so both can be run side by side.
import { Adam, Linear, LSTM, Random, Sequential } from '../../dist/index.js';
import { addingBatch, addingCorrect, temporalOrderBatch, temporalOrderCorrect } from './long-lag-tasks.mjs';

/**
 * @param {object} o
 * @param {'adding' | 'temporal'} o.task
 * @param {number} [o.T] adding: minimal length (default 100); temporal: minimal length (default 100)
 * @param {number} [o.seed] model and training stream (default 0); the test sets use 10000 + seed
 * @param {number} [o.hidden] default 64
 * @param {number} [o.batch] default 64
 * @param {number} [o.lr] default 1e-3
 * @param {number} [o.clip] default 1
 * @param {number | null} [o.maxTimeLag] chrono initialisation's lag (default 110); null: PyTorch's default init
 * @param {number} [o.evalEvery] optimizer steps between test sets (default 200)
 * @param {number} [o.testSize] sequences per test set (default 2560)
 * @param {number} [o.target] correct test sequences that end the run (default testSize - 1, or testSize for temporal)
 * @param {number} [o.budgetSeconds] training-clock limit (default 1200)
 * @param {number} [o.maxSequences] training-sequence limit (default none)
 * @param {number} [o.finalTestBatches] test sets in the final check (default 10)
 * @param {(record: object) => void} [o.log] gets every evaluation record
 * @returns {Promise<object>} the result record (JSON)
 */
export async function runLongLag(o) {
  const task = o.task;
  const T = o.T ?? 100;
  const seed = o.seed ?? 0;
  const hidden = o.hidden ?? 64;
  const batch = o.batch ?? 64;
  const testSize = o.testSize ?? 2560;
  const evalEvery = o.evalEvery ?? 200;
  const target = o.target ?? (task === 'adding' ? testSize - 1 : testSize);
  const budget = o.budgetSeconds ?? 1200;
  const maxSequences = o.maxSequences ?? Infinity;
  const maxTimeLag = o.maxTimeLag === undefined ? 110 : o.maxTimeLag;
  const log = o.log ?? (() => {});

  const adding = task === 'adding';
  const gen = adding ? (n, rng) => addingBatch(n, rng, T) : (n, rng) => temporalOrderBatch(n, rng, T);
  const correct = adding ? addingCorrect : temporalOrderCorrect;
  const model = new Sequential({
    lstm: new LSTM({ inputSize: adding ? 2 : 8, hiddenSize: hidden, batchFirst: true, returnSequences: false,
      ...(maxTimeLag === null ? {} : { biasInit: 'chrono', maxTimeLag }) }),
    head: new Linear({ inFeatures: hidden, outFeatures: adding ? 1 : 4 }),
  }, { seed });
  const optimizer = new Adam(model.parameters(), { lr: o.lr ?? 1e-3 });
  const trainRng = new Random(seed);
  const testRng = new Random(10000 + seed);
  const period = () => ({
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < evalEvery; i++) yield gen(batch, trainRng);
    },
  });
  const evaluate = async () => {
    const { x, lengths, y } = gen(testSize, testRng);
    return correct(await model.predict(x, { lengths, batchSize: testSize }), y);
  };

  const started = performance.now();
  let trainS = 0;
  let steps = 0;
  let lastLoss = NaN;
  let best = { correct: -1 };
  let reached = null;
  while (trainS < budget && steps * batch < maxSequences) {
    const t0 = performance.now();
    const history = await model.fit(period(), {
      epochs: 1, loss: adding ? 'mse' : 'crossEntropy', optimizer, clipGradNorm: o.clip ?? 1,
    });
    trainS += (performance.now() - t0) / 1000;
    steps += evalEvery;
    lastLoss = history.epochs[0].loss;
    const rec = { step: steps, seqs: steps * batch, train_s: +trainS.toFixed(1),
      wall_s: +((performance.now() - started) / 1000).toFixed(1), correct: await evaluate(), train_loss: +lastLoss.toFixed(6) };
    log(rec);
    if (rec.correct > best.correct) best = rec;
    if (rec.correct >= target) { reached = rec; break; }
  }
  let finalCorrect = 0;
  const finalBatches = o.finalTestBatches ?? 10;
  for (let i = 0; i < finalBatches; i++) finalCorrect += await evaluate();
  return {
    task, T, seed, hidden, batch, lr: o.lr ?? 1e-3, clip: o.clip ?? 1, maxTimeLag, target, steps, train_seqs: steps * batch,
    train_s: +trainS.toFixed(1), wall_s: +((performance.now() - started) / 1000).toFixed(1),
    ms_per_step: +(1000 * trainS / Math.max(steps, 1)).toFixed(2), best_correct: best.correct, reached,
    final_check: { correct: finalCorrect, of: finalBatches * testSize }, solved: reached !== null,
  };
}
