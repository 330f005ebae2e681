/**
 * The JSON config of `lstm train` (schema in docs/cli.md): the model's architecture (the model-file
 * format's `architecture` JSON), the data, the training options of `model.fit`, checkpoints and
 * where to write the model. Every field is checked with a message naming it.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ModuleSpec } from '../io/architecture.js';
import { CliError } from './cli-error.js';

export interface TrainConfig {
  model: ModuleSpec;
  data: { train: string; validation?: string; format?: string; validationSplit?: number };
  training: {
    epochs?: number; batchSize?: number; loss?: string; lr?: number; optimizer?: 'adam' | 'adamw' | 'sgd' | 'rmsprop';
    clipGradNorm?: number; metrics?: string[]; seed?: number; tbpttSteps?: number;
    earlyStopping?: { monitor?: string; patience?: number; minDelta?: number; restoreBest?: boolean };
  };
  checkpoint?: { dir: string; every?: 'epoch' | number; keep?: number };
  output: string;
  plot?: string;
}

const TOP = ['model', 'data', 'training', 'checkpoint', 'output', 'plot', '$schema', 'description'];
const DATA = ['train', 'validation', 'format', 'validationSplit'];
const TRAINING = ['epochs', 'batchSize', 'loss', 'lr', 'optimizer', 'clipGradNorm', 'metrics', 'seed', 'tbpttSteps', 'earlyStopping'];

function keys(where: string, o: unknown, known: string[]): Record<string, unknown> {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new CliError(`config: ${where} must be an object`);
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new CliError(`config: unknown key ${where}.${k}; known: ${known.join(', ')}`);
  return o as Record<string, unknown>;
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
  if (typeof data.train !== 'string') throw new CliError('config: data.train must be a file path');
  if (typeof top.output !== 'string') throw new CliError('config: output must be the path of the model file to write');
  if (top.model === null || typeof top.model !== 'object') throw new CliError('config: model must be an architecture object ({"type": "Sequential", "layers": [...]})');
  const base = dirname(resolve(path));
  const at = (p: unknown) => (typeof p === 'string' ? resolve(base, p) : p);
  const checkpoint = top.checkpoint === undefined ? undefined : keys('checkpoint', top.checkpoint, ['dir', 'every', 'keep']);
  if (checkpoint && typeof checkpoint.dir !== 'string') throw new CliError('config: checkpoint.dir must be a folder path');
  return {
    model: top.model as ModuleSpec,
    data: { ...data, train: at(data.train) as string, ...(data.validation !== undefined ? { validation: at(data.validation) as string } : {}) } as TrainConfig['data'],
    training: training as TrainConfig['training'],
    ...(checkpoint ? { checkpoint: { ...checkpoint, dir: at(checkpoint.dir) } as TrainConfig['checkpoint'] } : {}),
    output: at(top.output) as string,
    ...(typeof top.plot === 'string' ? { plot: at(top.plot) as string } : {}),
  };
}
