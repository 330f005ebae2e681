// Temporal order (Hochreiter & Schmidhuber 1997, experiment 6a): classify a sequence of 100-110
// symbols by the order of two X/Y symbols at t1 in [10, 20] and t2 in [50, 60]. LSTM(64) with chrono
// initialisation (maxTimeLag 110), Adam 1e-3, batch 64, clip 1, trained with model.fit on fresh
// sequences until all 2,560 fresh test sequences are right (every softmax output within 0.3).
// PyTorch's baseline with the same recipe: shared/baselines/longlag.py --task temporal.
//   npm run example:temporal-order
import { backendInfo } from '../dist/index.js';
import { cliOptions } from './lib/cli.mjs';
import { runLongLag } from './lib/long-lag-run.mjs';

const o = cliOptions('usage: node examples/temporal-order.mjs [--seed 0] [--maxTimeLag 110] [--budgetSeconds 1200]', {
  T: 100, seed: 0, maxTimeLag: 110, hidden: 64, batch: 64, lr: 1e-3, clip: 1, evalEvery: 200, budgetSeconds: 1200,
});
console.log(`# temporal order 6a (lengths ${o.T}-${o.T + 10}), LSTM(${o.hidden}) chrono ${o.maxTimeLag}, Adam ${o.lr}, ` +
  `batch ${o.batch}, clip ${o.clip}, seed ${o.seed}; ${JSON.stringify(backendInfo())}`);
const res = await runLongLag({ task: 'temporal', ...o, maxTimeLag: o.maxTimeLag > 0 ? o.maxTimeLag : null,
  log: (r) => console.log(JSON.stringify(r)) });
console.log(JSON.stringify(res));
const r = res.reached;
console.log(res.solved
  ? `SOLVED: ${r.correct}/2560 test sequences right after ${r.seqs} training sequences, ${r.train_s} s of training ` +
    `(${res.ms_per_step} ms/step); final check ${res.final_check.correct}/${res.final_check.of}`
  : `NOT SOLVED within the budget: best ${res.best_correct}/2560 after ${res.train_seqs} sequences`);
process.exitCode = res.solved ? 0 : 1;
