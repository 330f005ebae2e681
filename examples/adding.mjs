// The adding problem (Hochreiter & Schmidhuber 1997, experiment 4) at T = 100: an LSTM(64) with chrono
// initialisation (maxTimeLag 110), Adam 1e-3, batch 64, clip 1, trained with model.fit on fresh
// sequences until at least 2,559 of 2,560 fresh test sequences are within 0.04 (the paper's
// criterion). PyTorch's baseline with the same recipe: shared/baselines/longlag.py --task adding.
//   npm run example:adding                  (T = 100)
//   npm run example:adding -- --T 500 --maxTimeLag 550
import { backendInfo } from '../dist/index.js';
import { cliOptions } from './lib/cli.mjs';
import { runLongLag } from './lib/long-lag-run.mjs';

const o = cliOptions('usage: node examples/adding.mjs [--T 100] [--seed 0] [--maxTimeLag 110] [--budgetSeconds 1200]', {
  T: 100, seed: 0, maxTimeLag: 110, hidden: 64, batch: 64, lr: 1e-3, clip: 1, evalEvery: 200, budgetSeconds: 1200,
});
console.log(`# adding problem T=${o.T} (lengths ${o.T}-${o.T + Math.floor(o.T / 10)}), LSTM(${o.hidden}) chrono ${o.maxTimeLag}, ` +
  `Adam ${o.lr}, batch ${o.batch}, clip ${o.clip}, seed ${o.seed}; ${JSON.stringify(backendInfo())}`);
const res = await runLongLag({ task: 'adding', ...o, maxTimeLag: o.maxTimeLag > 0 ? o.maxTimeLag : null,
  log: (r) => console.log(JSON.stringify(r)) });
console.log(JSON.stringify(res));
const r = res.reached;
console.log(res.solved
  ? `SOLVED: ${r.correct}/2560 test sequences within 0.04 after ${r.seqs} training sequences, ${r.train_s} s of training ` +
    `(${res.ms_per_step} ms/step); final check ${res.final_check.correct}/${res.final_check.of}`
  : `NOT SOLVED within the budget: best ${res.best_correct}/2560 after ${res.train_seqs} sequences`);
process.exitCode = res.solved ? 0 : 1;
