// Character language model on Tiny Shakespeare (data/tinyshakespeare.txt), char-rnn style:
// Embedding(65, 64) -> LSTM(512) x 2 -> Linear(65), trained with model.fit on the token stream with
// truncated BPTT (32 parallel streams, chunks of 100, (h, c) carried across chunks), Adam 2e-3, global
// norm clip 5. At given training-clock times the full validation split (last 10%) is scored in bits
// per character, as the PyTorch baseline does (shared/baselines/charlm.py: 32 streams, state carried);
// at the end it prints a 300-character sample.
//   npm run example:char-lm                      (evaluations at 5 and 10 minutes of training)
//   npm run example:char-lm -- --hidden 256 --evalAt 150,300
import { Adam, AbortError, Embedding, Linear, LSTM, Random, Sequential, backendInfo, losses } from '../dist/index.js';
import { tinyShakespeare } from './lib/char-data.mjs';
import { cliOptions } from './lib/cli.mjs';

const o = cliOptions('usage: node examples/char-lm.mjs [--evalAt 300,600] [--hidden 512] [--layers 2] [--seed 0]', {
  evalAt: '300,600', hidden: 512, layers: 2, emb: 64, seq: 100, batch: 32, lr: 2e-3, clip: 5, seed: 0, sample: 300,
  temperature: 1, prime: 'ROMEO:',
});
const evalAt = String(o.evalAt).split(',').map(Number);
if (evalAt.some((s) => !Number.isFinite(s) || s <= 0)) throw new RangeError(`--evalAt must be seconds > 0 separated by commas, got ${o.evalAt}`);
const data = tinyShakespeare();
const V = data.chars.length;

const build = (seed) => new Sequential({
  embed: new Embedding({ numEmbeddings: V, embeddingDim: o.emb }),
  lstm: new LSTM({ inputSize: o.emb, hiddenSize: o.hidden, numLayers: o.layers, batchFirst: true }),
  head: new Linear({ inFeatures: o.hidden, outFeatures: V }),
}, { seed });
const model = build(o.seed);
// Evaluation runs on a copy of the weights while fit holds the model (its parameters are readable
// between steps), so the training run is never interrupted by more than the time it takes.
const scorer = build(o.seed).eval();

/** Mean cross-entropy (nats) of the next character over the validation split in 32 streams with carried state. */
async function validationNats() {
  scorer.loadStateDict(model.stateDict());
  const streams = 32;
  const per = Math.floor((data.val.length - 1) / streams);
  let state;
  let total = 0;
  let count = 0;
  for (let at = 0; at < per; at += 500) {
    const n = Math.min(500, per - at);
    const x = new Int32Array(streams * n);
    const y = new Int32Array(streams * n);
    for (let s = 0; s < streams; s++) {
      x.set(data.val.subarray(s * per + at, s * per + at + n), s * n);
      y.set(data.val.subarray(s * per + at + 1, s * per + at + n + 1), s * n);
    }
    const r = await scorer.forwardWithStateAsync({ data: x, shape: [streams, n] }, { noGrad: true, ...(state ? { state } : {}) });
    state = r.state;
    total += losses.crossEntropy(r.output, { data: y, shape: [streams, n] }, { reduction: 'sum' }).loss;
    count += streams * n;
  }
  return { nats: total / count, count };
}

/** Samples n characters after `prime`, one at a time with carried state, softmax with the given temperature. */
async function sample(n, prime, temperature, rng) {
  scorer.loadStateDict(model.stateDict());
  let r = await scorer.forwardWithStateAsync({ data: data.encode(prime), shape: [1, prime.length] }, { noGrad: true });
  let out = prime;
  for (let i = 0; i < n; i++) {
    const logits = r.output.data.subarray(r.output.data.length - V);
    const max = Math.max(...logits);
    const p = Array.from(logits, (v) => Math.exp((v - max) / temperature));
    let u = rng.next() * p.reduce((a, b) => a + b, 0);
    let c = 0;
    while (c < V - 1 && (u -= p[c]) > 0) c++;
    out += data.chars[c];
    r = await scorer.forwardWithStateAsync({ data: Int32Array.of(c), shape: [1, 1] }, { noGrad: true, state: r.state });
  }
  return out;
}

console.log(`# char LM: Tiny Shakespeare V=${V} train=${data.train.length} val=${data.val.length}; Embedding(${V}, ${o.emb}) ` +
  `LSTM(${o.hidden}) x ${o.layers}, seq ${o.seq}, batch ${o.batch}, Adam ${o.lr}, clip ${o.clip}, seed ${o.seed}; ` +
  `params ${model.parameters().size}; ${JSON.stringify(backendInfo())}`);
const controller = new AbortController();
const started = performance.now();
let evalSeconds = 0;
let steps = 0;
let ema = null;
const evals = [];
const trainClock = () => (performance.now() - started) / 1000 - evalSeconds;
try {
  await model.fit({ tokens: data.train }, {
    epochs: 1000, batchSize: o.batch, tbptt: { steps: o.seq }, loss: 'crossEntropy',
    optimizer: new Adam(model.parameters(), { lr: o.lr }), clipGradNorm: o.clip, signal: controller.signal,
    callbacks: {
      onBatchEnd: async (p) => {
        steps += 1;
        ema = ema === null ? p.loss : 0.98 * ema + 0.02 * p.loss;
        if (steps % 50 === 0) {
          console.log(`step ${steps} epoch ${p.epoch} train_s ${trainClock().toFixed(1)} loss_ema ${ema.toFixed(4)} ` +
            `chars/s ${(steps * o.batch * o.seq / trainClock()).toFixed(0)}`);
        }
        if (evals.length < evalAt.length && trainClock() >= evalAt[evals.length]) {
          const t = trainClock();
          const e0 = performance.now();
          const { nats, count } = await validationNats();
          const es = (performance.now() - e0) / 1000;
          evalSeconds += es;
          const rec = { train_s: +t.toFixed(1), wall_s: +((performance.now() - started) / 1000).toFixed(1), eval_s: +es.toFixed(1),
            step: steps, train_chars: steps * o.batch * o.seq, val_nats: +nats.toFixed(4), val_bpc: +(nats / Math.LN2).toFixed(4),
            val_chars: count, train_loss_ema: +ema.toFixed(4), train_chars_per_s: +(steps * o.batch * o.seq / t).toFixed(1) };
          evals.push(rec);
          console.log(JSON.stringify(rec));
          if (evals.length === evalAt.length) controller.abort();
        }
      },
    },
  });
} catch (e) {
  if (!(e instanceof AbortError)) throw e;
}
const text = await sample(o.sample, o.prime, o.temperature, new Random(o.seed));
console.log(JSON.stringify({ task: 'charlm', hidden: o.hidden, layers: o.layers, steps, train_chars: steps * o.batch * o.seq,
  evals, wall_s: +((performance.now() - started) / 1000).toFixed(1) }));
console.log(`validation bits per character: ${evals.map((e) => `${e.val_bpc} after ${e.train_s} s`).join(', ')}`);
console.log(`--- sample (${o.sample} characters, temperature ${o.temperature}) ---\n${text}\n---`);
