/**
 * The JSON config of `lstm train` (schema in docs/cli.md): the model's architecture (the model-file
 * format's `architecture` JSON), the data (files, or a generator module for synthetic tasks), the
 * training options of `model.fit`, checkpoints and where to write the model. Every field is checked
 * here with a message naming it, so a config mistake is one line and exit 2 before any work.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ModuleSpec } from '../io/architecture.js';
import { CliError } from './cli-error.js';

/** `data.generator`: sequences drawn by a function exported from a JS module (docs/cli.md). */
export interface GeneratorConfig {
  /** Absolute path of the module (relative to the config file in the config). */
  module: string;
  /** The export to call as `fn(n, rng, ...args)`. */
  export: string;
  args: unknown[];
  /** Batches (of training.batchSize sequences) per epoch. */
  batchesPerEpoch: number;
  /** Validation sequences drawn once (0: no validation). */
  validationSize: number;
}

export interface TrainConfig {
  model: ModuleSpec;
  data: { train?: string; validation?: string; format?: string; validationSplit?: number; generator?: GeneratorConfig };
  training: {
    epochs?: number; batchSize?: number; loss?: string; lr?: number; optimizer?: 'adam' | 'adamw' | 'sgd' | 'rmsprop';
    clipGradNorm?: number; metrics?: string[]; seed?: number; tbpttSteps?: number;
    earlyStopping?: { monitor?: string; patience?: number; minDelta?: number; mode?: 'min' | 'max' | 'auto'; restoreBest?: boolean };
  };
  checkpoint?: { dir: string; every?: 'epoch' | number; keep?: number };
  output: string;
  plot?: string;
}

const TOP = ['model', 'data', 'training', 'checkpoint', 'output', 'plot', '$schema', 'description'];
const DATA = ['train', 'validation', 'format', 'validationSplit', 'generator'];
const GENERATOR = ['module', 'export', 'args', 'batchesPerEpoch', 'validationSize'];
const TRAINING = ['epochs', 'batchSize', 'loss', 'lr', 'optimizer', 'clipGradNorm', 'metrics', 'seed', 'tbpttSteps', 'earlyStopping'];
const EARLY = ['monitor', 'patience', 'minDelta', 'mode', 'restoreBest'];
const LOSSES = ['mse', 'mae', 'huber', 'crossEntropy', 'bceWithLogits'];
const OPTIMIZERS = ['adam', 'adamw', 'sgd', 'rmsprop'];
const METRICS = ['accuracy', 'perplexity', 'bitsPerChar', 'mae', 'rmse'];

function keys(where: string, o: unknown, known: string[]): Record<string, unknown> {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new CliError(`config: ${where} must be an object`);
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new CliError(`config: unknown key ${where}.${k}; known: ${known.join(', ')}`);
  return o as Record<string, unknown>;
}

const got = (v: unknown) => JSON.stringify(v) ?? String(v);

/** Checks the optional fields of `o` that are present: kind 'int>=k', 'num>0', 'num>=0', 'fraction', 'string', 'bool' or a list of words. */
function check(where: string, o: Record<string, unknown>, rules: Record<string, string | string[]>): void {
  for (const [k, rule] of Object.entries(rules)) {
    const v = o[k];
    if (v === undefined) continue;
    const name = `${where}.${k}`;
    let ok: boolean;
    let want: string;
    if (Array.isArray(rule)) { ok = rule.includes(v as string); want = `one of ${rule.join(', ')}`; }
    else if (rule.startsWith('int>=')) { const min = Number(rule.slice(5)); ok = Number.isSafeInteger(v) && (v as number) >= min; want = `an integer >= ${min}`; }
    else if (rule === 'num>0') { ok = typeof v === 'number' && Number.isFinite(v) && v > 0; want = 'a number > 0'; }
    else if (rule === 'num>=0') { ok = typeof v === 'number' && Number.isFinite(v) && v >= 0; want = 'a number >= 0'; }
    else if (rule === 'fraction') { ok = typeof v === 'number' && v > 0 && v < 1; want = 'a number in (0, 1)'; }
    else if (rule === 'bool') { ok = typeof v === 'boolean'; want = 'true or false'; }
    else { ok = typeof v === 'string' && v !== ''; want = 'a non-empty string'; }
    if (!ok) throw new CliError(`config: ${name} must be ${want}, got ${got(v)}`);
  }
}

/** Reads and checks a config; relative paths in it are relative to the config file's folder. */
export function readTrainConfig(path: string): TrainConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const top = keys('(top level)', raw, TOP);
  const data = keys('data', top.data, DATA);
  const training = keys('training', top.training ?? {}, TRAINING);
  if (typeof top.output !== 'string') throw new CliError('config: output must be the path of the model file to write');
  if (top.model === null || typeof top.model !== 'object') throw new CliError('config: model must be an architecture object ({"type": "Sequential", "layers": [...]})');
  check('(top level)', top, { plot: 'string', description: 'string' });
  check('data', data, { train: 'string', validation: 'string', format: ['jsonl', 'csv', 'text'], validationSplit: 'fraction' });
  if ((data.train === undefined) === (data.generator === undefined)) throw new CliError('config: data needs exactly one of train (a file path) and generator');
  if (data.validation !== undefined && data.validationSplit !== undefined) throw new CliError('config: data.validation and data.validationSplit exclude each other');
  check('training', training, { epochs: 'int>=1', batchSize: 'int>=1', loss: LOSSES, lr: 'num>0', optimizer: OPTIMIZERS,
    clipGradNorm: 'num>0', seed: 'int>=0', tbpttSteps: 'int>=1' });
  if (training.metrics !== undefined) {
    if (!Array.isArray(training.metrics)) throw new CliError(`config: training.metrics must be an array of ${METRICS.join(', ')}, got ${got(training.metrics)}`);
    training.metrics.forEach((m, i) => check('training.metrics', { [i]: m }, { [i]: METRICS }));
  }
  if (training.earlyStopping !== undefined) {
    const e = keys('training.earlyStopping', training.earlyStopping, EARLY);
    check('training.earlyStopping', e, { monitor: 'string', patience: 'int>=0', minDelta: 'num>=0', mode: ['min', 'max', 'auto'], restoreBest: 'bool' });
  }
  const base = dirname(resolve(path));
  const at = (p: unknown) => (typeof p === 'string' ? resolve(base, p) : p);
  let generator: GeneratorConfig | undefined;
  if (data.generator !== undefined) {
    const g = keys('data.generator', data.generator, GENERATOR);
    for (const k of ['module', 'export', 'batchesPerEpoch']) if (g[k] === undefined) throw new CliError(`config: data.generator.${k} is required`);
    check('data.generator', g, { module: 'string', export: 'string', batchesPerEpoch: 'int>=1', validationSize: 'int>=0' });
    if (g.args !== undefined && !Array.isArray(g.args)) throw new CliError(`config: data.generator.args must be an array, got ${got(g.args)}`);
    if (data.validation !== undefined || data.validationSplit !== undefined || data.format !== undefined) {
      throw new CliError('config: data.generator draws its own validation set (validationSize); drop data.validation, validationSplit and format');
    }
    generator = { module: at(g.module) as string, export: g.export as string, args: (g.args as unknown[] | undefined) ?? [],
      batchesPerEpoch: g.batchesPerEpoch as number, validationSize: (g.validationSize as number | undefined) ?? 0 };
  }
  const checkpoint = top.checkpoint === undefined ? undefined : keys('checkpoint', top.checkpoint, ['dir', 'every', 'keep']);
  if (checkpoint) {
    if (typeof checkpoint.dir !== 'string') throw new CliError('config: checkpoint.dir must be a folder path');
    if (checkpoint.every !== undefined && checkpoint.every !== 'epoch') check('checkpoint', checkpoint, { every: 'int>=1' });
    check('checkpoint', checkpoint, { keep: 'int>=1' });
  }
  return {
    model: top.model as ModuleSpec,
    data: {
      ...data,
      ...(data.train !== undefined ? { train: at(data.train) as string } : {}),
      ...(data.validation !== undefined ? { validation: at(data.validation) as string } : {}),
      ...(generator ? { generator } : {}),
    } as TrainConfig['data'],
    training: training as TrainConfig['training'],
    ...(checkpoint ? { checkpoint: { ...checkpoint, dir: at(checkpoint.dir) } as TrainConfig['checkpoint'] } : {}),
    output: at(top.output) as string,
    ...(typeof top.plot === 'string' ? { plot: at(top.plot) as string } : {}),
  };
}
