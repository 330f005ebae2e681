/**
 * `lstm demo` (what `npm start` runs): trains a character model on the bundled Tiny Shakespeare
 * for about a minute, then shows validation bits per character and a sample, and writes
 * demo-out/model.safetensors, loss.svg and sample.txt.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { backendInfo, setNumThreads } from '../../backend.js';
import { generate } from '../../infer/generate.js';
import { writeFileAtomicSync } from '../../io/atomic-write.js';
import { charCorpus, charModel, evaluate, trainChars } from '../char-trainer.js';
import { CliError } from '../cli-error.js';
import { positiveInt, numberOption } from '../load.js';
import { lossChartSvg } from '../loss-plot.js';
import { saveModelFile } from '../model-store.js';
import { packageRoot } from '../package-root.js';
import { createProgress } from '../progress.js';
import { decodeIds } from '../vocab.js';

/** A small text file written atomically (io/atomic-write.ts: same folder, fsync, rename, fsync of the folder). */
function writeTextAtomic(path: string, text: string): void {
  writeFileAtomicSync('lstm demo', path, [Buffer.from(text)]);
}

interface DemoOptions { seconds?: string; out?: string; threads?: string; hidden?: string; seed?: string }

const LN2 = Math.log(2);

export async function runDemo(o: DemoOptions): Promise<void> {
  const seconds = numberOption('--seconds', o.seconds, 60, 1);
  const hidden = positiveInt('--hidden', o.hidden, 256);
  const seed = positiveInt('--seed', o.seed, 1, 0);
  if (o.threads !== undefined) setNumThreads(positiveInt('--threads', o.threads, 1));
  const outDir = o.out ?? 'demo-out';
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (err) {
    throw new CliError(`cannot create ${outDir}: ${(err as Error).message}`);
  }
  const text = readFileSync(join(packageRoot(), 'data', 'tinyshakespeare.txt'), 'utf8');
  const corpus = charCorpus(text);
  const V = corpus.vocab.length;
  const model = charModel({ vocabSize: V, embeddingDim: 32, hiddenSize: hidden, numLayers: 1, seed });
  const scorer = charModel({ vocabSize: V, embeddingDim: 32, hiddenSize: hidden, numLayers: 1, seed }).eval();
  const info = backendInfo();
  const say = (s: string) => process.stdout.write(s + '\n');
  say(`lstm demo: a character model (Embedding(${V}, 32) -> LSTM(${hidden}) -> Linear(${V}), `
    + `${model.parameters().size.toLocaleString('en-US')} parameters) on Tiny Shakespeare `
    + `(${corpus.train.length.toLocaleString('en-US')} training characters), ${seconds} s, ${info.isa}, ${info.blas} GEMM, ${info.threads} threads`);

  const tty = process.stderr.isTTY === true;
  const bar = createProgress(seconds, ' {bar} {percentage}% | step {step} | loss {loss} | {cps} chars/s | ETA {eta}s', tty);
  const trainPoints: [number, number][] = [];
  const validPoints: [number, number][] = [];
  const validProbe = corpus.valid.subarray(0, 32 * 200 * 3 + 1);  // a quick validation estimate during training
  let smooth = NaN;
  let group = 0;
  let nextValid = 0;
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  const run = await trainChars(model, corpus, {
    seconds, batchSize: 32, seqLen: 64, lr: 3e-3, clip: 5, signal: abort.signal,
    onStep: async (p) => {
      smooth = Number.isNaN(smooth) ? p.loss : 0.95 * smooth + 0.05 * p.loss;
      // The chart plots the mean of each 5 steps at their middle: no smoothing lag.
      group += p.loss;
      if (p.step % 5 === 0) { trainPoints.push([p.step - 2, group / 5 / LN2]); group = 0; }
      if (p.seconds >= nextValid) {
        nextValid += seconds / 6;
        // fit holds the model: the estimate runs on a copy of its weights (a consistent snapshot).
        scorer.loadStateDict(model.stateDict());
        const v = await evaluate(scorer, validProbe);
        validPoints.push([p.step, v / LN2]);
        if (!tty) say(`  step ${p.step}: train ${(smooth / LN2).toFixed(3)} bits/char, validation ${(v / LN2).toFixed(3)} bits/char, ${Math.round(p.charsPerSec)} chars/s`);
      }
      bar.update(p.seconds, { step: p.step, loss: (smooth / LN2).toFixed(3), cps: Math.round(p.charsPerSec), eta: Math.max(0, Math.round(seconds - p.seconds)) });
    },
  });
  process.off('SIGINT', onSigint);
  bar.update(seconds, { step: run.steps, loss: (smooth / LN2).toFixed(3), cps: Math.round(run.chars / run.seconds), eta: 0 });
  bar.stop();
  const validBits = (await evaluate(model, corpus.valid)) / LN2;
  validPoints.push([run.steps, validBits]);

  const promptText = 'ROMEO:\n';
  const index = new Map(corpus.vocab.map((c, i) => [c, i]));
  const ids = await generate(model, { prompt: Array.from(promptText, (c) => index.get(c)!), length: 300, temperature: 0.8, seed });
  const sample = promptText + decodeIds(ids, corpus.vocab);

  const modelPath = join(outDir, 'model.safetensors');
  await saveModelFile(modelPath, model, { vocab: corpus.vocab, metadata: { 'lstm.demo': 'tinyshakespeare char model' } });
  writeTextAtomic(join(outDir, 'loss.svg'), lossChartSvg({
    title: `Tiny Shakespeare character model, ${run.steps} steps in ${run.seconds.toFixed(0)} s`,
    xLabel: 'training step (32 sequences of 64 characters)', yLabel: 'loss (bits per character)',
    series: [
      { name: 'train (mean of 5 steps)', color: '#1f77b4', points: trainPoints },
      { name: 'validation', color: '#d62728', points: validPoints, dots: true },
    ],
  }));
  writeTextAtomic(join(outDir, 'sample.txt'), sample + '\n');
  say(`trained ${run.steps} steps (${run.chars.toLocaleString('en-US')} characters) in ${run.seconds.toFixed(1)} s, `
    + `${Math.round(run.chars / run.seconds).toLocaleString('en-US')} characters/s${abort.signal.aborted ? ' (stopped by Ctrl-C)' : ''}`);
  say(`validation: ${validBits.toFixed(3)} bits per character (uniform guessing: ${Math.log2(V).toFixed(3)})`);
  say('\nsample (temperature 0.8):\n' + sample.split('\n').map((l) => '  ' + l).join('\n'));
  say(`\nwrote ${modelPath}, ${join(outDir, 'loss.svg')}, ${join(outDir, 'sample.txt')}`);
  say('\ntry next:');
  say(`  npx lstm generate --model ${modelPath} --prompt "JULIET:" --length 400`);
  // Lines of the validation text as token ids of this vocabulary (the sorted characters of the text).
  const lines = relative(process.cwd(), join(packageRoot(), 'examples', 'shakespeare-lines.jsonl'));
  say(`  npx lstm predict --model ${modelPath} --input ${lines} --output -`);
  say(`  npx lstm info ${modelPath}`);
}

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('train a character model on the bundled Tiny Shakespeare for about a minute, then sample from it')
    .option('-s, --seconds <n>', 'training time', '60')
    .option('-o, --out <dir>', 'output folder', 'demo-out')
    .option('--hidden <n>', 'LSTM hidden size', '256')
    .option('-t, --threads <n>', 'kernel threads')
    .option('--seed <n>', 'seed of the weights and the sample', '1')
    .addHelpText('after', `
Writes <out>/model.safetensors, loss.svg (train and validation loss by step) and sample.txt.
Ctrl-C stops training early and still writes them.

Examples:
  lstm demo
  lstm demo --seconds 300 --hidden 512 --out big-demo`)
    .action(async (o: DemoOptions) => runDemo(o));
}
