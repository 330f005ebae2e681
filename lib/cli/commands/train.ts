/** `lstm train`: a model and its data described by a JSON config, trained with model.fit. */
import type { Command } from 'commander';
import { buildModule } from '../../io/architecture.js';
import type { Module } from '../../layers/module.js';
import type { Sequential } from '../../layers/sequential.js';
import { Adam, AdamW } from '../../optim/adam.js';
import { RMSprop } from '../../optim/rmsprop.js';
import { SGD } from '../../optim/sgd.js';
import { Random } from '../../random.js';
import { Stepper } from '../../infer/stepper.js';
import { AbortError } from '../../train/abort.js';
import type { FitOptions, LossName, MetricName } from '../../train/types.js';
import { writeFileAtomicSync } from '../../io/atomic-write.js';
import { CliError, messageOf } from '../cli-error.js';
import { lossChartSvg } from '../loss-plot.js';
import { saveModelFile } from '../model-store.js';
import { createProgress } from '../progress.js';
import { readTrainConfig } from '../train-config.js';
import { generatedData } from '../generated-data.js';
import { positiveInt } from '../load.js';
import { formatOf, sequenceData, textData } from '../train-data.js';

interface TrainCliOptions { config?: string; resume?: boolean; plot?: string; quiet?: boolean; maxSteps?: string }

function optimizerFor(name: string | undefined, model: Module, lr: number) {
  const params = model.parameters();
  switch (name ?? 'adam') {
    case 'adam': return new Adam(params, { lr });
    case 'adamw': return new AdamW(params, { lr });
    case 'sgd': return new SGD(params, { lr });
    case 'rmsprop': return new RMSprop(params, { lr });
    default: throw new CliError(`config: training.optimizer must be adam, adamw, sgd or rmsprop, got "${name}"`);
  }
}

export async function runTrain(o: TrainCliOptions): Promise<void> {
  if (!o.config) throw new CliError('--config <file.json> is required');
  const maxSteps = positiveInt('--max-steps', o.maxSteps, Infinity);
  const cfg = readTrainConfig(o.config);
  const t = cfg.training;
  let model: Module;
  try {
    model = buildModule(cfg.model, 'config: model');
  } catch (err) {
    throw new CliError(messageOf(err));
  }
  const seed = t.seed ?? 0;
  const rng = new Random(seed);
  model.resetParameters(rng);
  model.reseed(rng.nextUint32());
  if (!('fit' in model)) throw new CliError('config: model must be a Sequential (fit trains a Sequential)');
  const input = new Stepper(model, 'config: model', false).input;
  const format = cfg.data.generator ? 'generated' : formatOf(cfg.data.train!, cfg.data.format);
  let vocab: string[] | null = null;
  let data: Parameters<Sequential['fit']>[0];
  let validationData: FitOptions['validationData'];
  if (cfg.data.generator) {
    const g = await generatedData(cfg.data.generator, t.batchSize ?? 32, seed);
    data = g.train;
    validationData = g.validation;
  } else if (format === 'text') {
    if (input.kind !== 'tokens') throw new CliError('config: text data needs a model that starts with an Embedding');
    const train = textData(cfg.data.train!);
    vocab = train.vocab;
    if (vocab.length > input.vocabSize) throw new CliError(`config: the text has ${vocab.length} distinct characters, the Embedding only ${input.vocabSize}`);
    data = train.data;
    if (cfg.data.validation) validationData = textData(cfg.data.validation, vocab).data;
  } else {
    const size = input.kind === 'features' ? input.size : null;
    data = sequenceData(cfg.data.train!, format as 'jsonl' | 'csv', size);
    if (cfg.data.validation) validationData = sequenceData(cfg.data.validation, formatOf(cfg.data.validation, cfg.data.format) as 'jsonl' | 'csv', size);
  }
  if (o.resume && !cfg.checkpoint) throw new CliError('--resume needs checkpoint.dir in the config');

  const losses: [number, number][] = [];
  const valLosses: [number, number][] = [];
  let globalStep = 0;
  const tty = process.stderr.isTTY === true && !o.quiet;
  const bar = createProgress(1, ' {bar} epoch {epoch} | step {step} | loss {loss} | {rate} samples/s | ETA {remaining}', tty);
  const abort = new AbortController();
  let reachedMaxSteps = false;
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  const options: FitOptions = {
    epochs: t.epochs ?? 1, batchSize: t.batchSize ?? 32, seed,
    optimizer: optimizerFor(t.optimizer, model, t.lr ?? 1e-3),
    ...(t.loss ? { loss: t.loss as LossName } : {}),
    ...(t.clipGradNorm ? { clipGradNorm: t.clipGradNorm } : {}),
    ...(t.metrics ? { metrics: t.metrics as MetricName[] } : {}),
    ...(t.earlyStopping ? { earlyStopping: t.earlyStopping } : {}),
    ...(validationData ? { validationData } : cfg.data.validationSplit ? { validationSplit: cfg.data.validationSplit } : {}),
    ...(format === 'text' ? { tbptt: { steps: t.tbpttSteps ?? 100 } } : {}),
    ...(cfg.checkpoint ? { checkpoint: cfg.checkpoint } : {}),
    ...(o.resume && cfg.checkpoint ? { resumeFrom: cfg.checkpoint.dir } : {}),
    signal: abort.signal,
    callbacks: {
      onBatchEnd: (p) => {
        globalStep = p.globalStep;
        if (Number.isFinite(p.loss)) losses.push([p.globalStep, p.loss]);
        if (globalStep >= maxSteps && !abort.signal.aborted) { reachedMaxSteps = true; abort.abort(); }
        const total = p.stepsPerEpoch ?? cfg.data.generator?.batchesPerEpoch ?? p.step;
        bar.update((p.epoch - 1 + p.step / total) / (t.epochs ?? 1), { epoch: p.epoch, step: `${p.step}/${p.stepsPerEpoch ?? '?'}`,
          loss: p.loss.toFixed(4), rate: Math.round(p.samplesPerSec), remaining: p.eta === null ? '?' : `${Math.round(p.eta)}s` });
      },
      onEpochEnd: (r) => {
        if (r.valLoss !== null) valLosses.push([globalStep, r.valLoss]);
        if (!o.quiet && !tty) {
          const metrics = Object.entries({ ...r.metrics, ...Object.fromEntries(Object.entries(r.valMetrics).map(([k, v]) => [`val ${k}`, v])) })
            .map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
          process.stdout.write(`epoch ${r.epoch}: loss ${r.loss.toFixed(4)}${r.valLoss !== null ? `, validation loss ${r.valLoss.toFixed(4)}` : ''}`
            + `${metrics ? `, ${metrics}` : ''}, ${r.seconds.toFixed(1)} s\n`);
        }
      },
    },
  };
  try {
    await (model as Sequential).fit(data, options);
  } catch (err) {
    if (reachedMaxSteps && err instanceof AbortError) {
      if (!o.quiet) process.stdout.write(`stopped after ${globalStep} steps (--max-steps)\n`);
    } else if (err instanceof AbortError || abort.signal.aborted) {
      throw new CliError(cfg.checkpoint ? `interrupted: a checkpoint is in ${cfg.checkpoint.dir}; continue with --resume`
        : 'interrupted (the config has no checkpoint.dir, so nothing was saved)', 1);
    } else {
      throw err instanceof CliError ? err : new CliError(messageOf(err), 1);
    }
  } finally {
    process.off('SIGINT', onSigint);
    bar.stop();
  }
  await saveModelFile(cfg.output, model, { vocab });
  const plot = o.plot ?? cfg.plot;
  if (plot) {
    const svg = lossChartSvg({ title: 'Training loss', xLabel: 'optimizer step', yLabel: `loss (${t.loss ?? 'default'})`, series: [
      { name: 'train', color: '#1f77b4', points: losses },
      { name: 'validation', color: '#d62728', points: valLosses, dots: true },
    ] });
    writeFileAtomicSync('lstm train: --plot', plot, [Buffer.from(svg)]);
  }
  if (!o.quiet) process.stdout.write(`wrote ${cfg.output}${plot ? ` and ${plot}` : ''}\n`);
}

export function registerTrain(program: Command): void {
  program.command('train')
    .description('train a model described by a JSON config (architecture, data, options; schema in docs/cli.md)')
    .requiredOption('-c, --config <file>', 'JSON config')
    .option('--resume', 'continue from the newest checkpoint in the config\'s checkpoint.dir')
    .option('--plot <file.svg>', 'write the loss chart (train and validation loss by step)')
    .option('--max-steps <n>', 'stop after n optimizer steps and write the model (a quick try, a smoke test)')
    .option('-q, --quiet', 'no progress and no per-epoch lines')
    .addHelpText('after', `
Ctrl-C writes a checkpoint (with checkpoint.dir in the config) and stops; --resume continues.

Examples:
  lstm train --config examples/train/airline.json --plot airline-loss.svg
  lstm train -c examples/train/char-lm.json --resume
  lstm train -c examples/train/adding.json --max-steps 200`)
    .action(async (o: TrainCliOptions) => runTrain(o));
}
