/**
 * Every config shipped in examples/train/ runs through `lstm train` with a short budget: the model,
 * data and training sections as shipped (data paths resolved against examples/train), only the
 * output, checkpoint and plot paths moved to a temporary folder and the length cut (--max-steps, or
 * a generator's batchesPerEpoch). A config that the CLI no longer accepts, or whose data or generator
 * moved, fails here.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lstm, root } from './helpers.js';

const shipped = join(root, 'examples', 'train');
const dir = mkdtempSync(join(tmpdir(), 'lstm-shipped-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const configs = readdirSync(shipped).filter((f) => f.endsWith('.json')).sort();

/** The shipped config with absolute data paths and its outputs in `dir`; `batchesPerEpoch` cut for generators. */
function shortCopy(file: string): { path: string; cfg: Record<string, any> } {
  const cfg = JSON.parse(readFileSync(join(shipped, file), 'utf8'));
  const name = file.replace(/\.json$/, '');
  for (const k of ['train', 'validation']) if (cfg.data[k]) cfg.data[k] = resolve(shipped, cfg.data[k]);
  if (cfg.data.generator) cfg.data.generator = { ...cfg.data.generator, module: resolve(shipped, cfg.data.generator.module), batchesPerEpoch: 3 };
  cfg.output = join(dir, `${name}.safetensors`);
  cfg.plot = join(dir, `${name}.svg`);
  if (cfg.checkpoint) cfg.checkpoint.dir = join(dir, `${name}-ckpt`);
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(cfg));
  return { path, cfg };
}

describe('shipped lstm train configs', () => {
  it('ships the configs of the training issue\'s examples', () => {
    expect(configs).toEqual(['adding.json', 'airline.json', 'char-lm.json', 'temporal-order.json']);
  });

  for (const file of configs) {
    it(`${file} trains with a short budget and writes a model that lstm info reads`, () => {
      const { path, cfg } = shortCopy(file);
      const generated = cfg.data.generator !== undefined;
      const r = lstm(['train', '-c', path, ...(generated ? [] : ['--max-steps', '3'])]);
      expect(r.status, r.stderr).toBe(0);
      if (generated) {
        // One epoch of 3 batches, then the validation set the generator drew.
        const metric = cfg.training.metrics[0];
        expect(r.stdout).toMatch(new RegExp(`^epoch 1: loss [\\d.]+, validation loss [\\d.]+, ${metric} [\\d.]+, val ${metric} [\\d.]+`, 'm'));
      } else {
        expect(r.stdout).toContain('stopped after 3 steps (--max-steps)');
      }
      expect(existsSync(cfg.output)).toBe(true);
      expect(readFileSync(cfg.plot, 'utf8')).toContain('<svg');
      const info = lstm(['info', cfg.output, '--json']);
      expect(info.status, info.stderr).toBe(0);
      const lstmOptions = cfg.model.layers.find((l: [string, { type: string }]) => l[1].type === 'LSTM')[1].options;
      expect(info.stdout).toContain(`"hiddenSize":${lstmOptions.hiddenSize}`);
    }, 120_000);
  }

  it('config field mistakes are one line naming the field, exit 2', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ training: { epochs: 0 } }, 'config: training.epochs must be an integer >= 1, got 0'],
      [{ training: { optimizer: 'adagrad' } }, 'config: training.optimizer must be one of adam, adamw, sgd, rmsprop, got "adagrad"'],
      [{ training: { metrics: ['rmse', 'f1'] } }, 'config: training.metrics.1 must be one of accuracy, perplexity, bitsPerChar, mae, rmse, got "f1"'],
      [{ data: { generator: { module: 'x.mjs', export: 'f' } } }, 'config: data.generator.batchesPerEpoch is required'],
      [{ data: { generator: { module: 'nope.mjs', export: 'f', batchesPerEpoch: 1 } } }, `config: data.generator.module ${join(dir, 'nope.mjs')}: no such file`],
      [{ data: { generator: { module: join(shipped, '../lib/long-lag-tasks.mjs'), export: 'adding', batchesPerEpoch: 1 } } },
        `config: data.generator.export "adding" is not a function exported by ${join(root, 'examples/lib/long-lag-tasks.mjs')}; it exports addingBatch, addingCorrect, temporalOrderBatch, temporalOrderCorrect`],
      [{ data: { train: 'a.jsonl', generator: {} } }, 'config: data needs exactly one of train (a file path) and generator'],
      [{ checkpoint: { dir: 'c', every: 'step' } }, 'config: checkpoint.every must be an integer >= 1, got "step"'],
    ];
    const base = JSON.parse(readFileSync(join(shipped, 'airline.json'), 'utf8'));
    for (const [change, message] of cases) {
      const path = join(dir, 'bad.json');
      writeFileSync(path, JSON.stringify({ ...base, data: { train: join(shipped, 'airline-train.jsonl') }, ...change,
        training: { ...base.training, ...(change.training as object) } }));
      const r = lstm(['train', '-c', path]);
      expect(r.stderr.trim()).toBe(`lstm: ${message}`);
      expect(r.status).toBe(2);
    }
  });

  it('--max-steps must be a positive integer', () => {
    const r = lstm(['train', '-c', join(shipped, 'airline.json'), '--max-steps', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('lstm: --max-steps must be an integer >= 1, got "0"');
  });
});
