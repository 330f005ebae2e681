/** The other `lstm` commands: --version, --help with examples, info, generate, bench, usage errors. */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lstm, modelFolder, root } from './helpers.js';

const m = await modelFolder();
afterAll(() => rmSync(m.dir, { recursive: true, force: true }));

describe('lstm', () => {
  it('--version prints the package version', () => {
    const r = lstm(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  });

  it('--help of every command shows examples', () => {
    for (const cmd of ['predict', 'generate', 'info', 'demo', 'bench', 'export', 'train', 'eval']) {
      const r = lstm([cmd, '--help']);
      expect(r.status, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(/Examples:\n {2}lstm /);
    }
  });

  it('an unknown command or option exits 2 with a message', () => {
    const a = lstm(['predikt']);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/unknown command 'predikt'/);
    const b = lstm(['predict', '--model', m.features, '--input', '-', '--bogus']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/unknown option '--bogus'/);
  });

  it('info shows the architecture, parameter count and format version', () => {
    const r = lstm(['info', m.tokens, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({ formatVersion: 1, parameters: 11 * 6 + 4 * 10 * (6 + 10 + 2) + 10 * 11 + 11, vocabulary: 11, outputFeatures: 11 });
    expect(lstm(['info', m.features]).stdout).toMatch(/parameters: +[\d,]+\ninput: +3 features per step/);
  });

  it('generate prints the prompt and the same text for the same seed; a character outside the vocabulary exits 2', () => {
    const a = lstm(['generate', '-m', m.tokens, '-p', 'abc', '-n', '30', '--seed', '4']);
    const b = lstm(['generate', '-m', m.tokens, '-p', 'abc', '-n', '30', '--seed', '4']);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout.startsWith('abc')).toBe(true);
    expect(a.stdout.trimEnd()).toHaveLength(33);
    const bad = lstm(['generate', '-m', m.tokens, '-p', 'xyz']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('lstm: the prompt\'s character "x" is not in the model\'s vocabulary');
    const feat = lstm(['generate', '-m', m.features, '-p', '1']);
    expect(feat.status).toBe(1);
    expect(feat.stderr).toMatch(/must start with an Embedding/);
  });

  it('export writes an ONNX file; a bad opset exits 2', () => {
    const out = join(m.dir, 'm.onnx');
    const r = lstm(['export', '-m', m.tokens, '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const bytes = readFileSync(out);
    expect(bytes.length).toBeGreaterThan(1000);
    expect(bytes.includes(Buffer.from('LSTM'))).toBe(true);
    const bad = lstm(['export', '-m', m.tokens, '-o', out, '--opset', '9']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^lstm: cannot export: .*opset/);
  });

  it('demo trains for the given time and writes the model, the chart and the sample', () => {
    const out = join(m.dir, 'demo');
    const r = lstm(['demo', '--seconds', '2', '--hidden', '32', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/validation: \d\.\d{3} bits per character/);
    expect(r.stdout).toMatch(/npx lstm predict --model .*model\.safetensors --input .*shakespeare-lines\.jsonl/);
    expect(readFileSync(join(out, 'sample.txt'), 'utf8').startsWith('ROMEO:\n')).toBe(true);
    const svg = readFileSync(join(out, 'loss.svg'), 'utf8');
    expect(svg).toContain('validation');
    const p = lstm(['predict', '-m', join(out, 'model.safetensors'), '-i', join(root, 'examples', 'shakespeare-lines.jsonl'), '-q']);
    expect(p.status, p.stderr).toBe(0);
    expect(p.stdout.trim().split('\n')).toHaveLength(12);
  });

  it('bench reports batched and session throughput', () => {
    const r = lstm(['bench', '-m', m.features, '--seconds', '0.2', '--sessions', '20', '--seq-len', '10']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/batched inference \(B 64, T 10\): +[\d,]+ sequences\/s/);
    expect(r.stdout).toMatch(/sessions \(20 concurrent.*\): [\d,]+ steps\/s/);
  });
});
