/**
 * The built package as a user sees it (dist/, which `npm test` builds first with tsup): class names
 * survive the bundler (messages say `this LSTM`, not `this _LSTM`), and the published declarations
 * hold no @internal member. Point LSTM_NATIVE_DIST at another build to check it instead.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = process.env.LSTM_NATIVE_DIST ?? resolve(dirname(fileURLToPath(import.meta.url)), '../../dist');
const need = (file: string): string => {
  const path = resolve(dist, file);
  if (!existsSync(path)) throw new Error(`${path} is missing: build the package first (npm run build:ts, or npm test)`);
  return path;
};

type Exports = Record<string, unknown>;

describe('the bundle keeps class names', () => {
  const loaders: [string, () => Promise<Exports>][] = [
    ['ESM', () => import(pathToFileURL(need('index.js')).href) as Promise<Exports>],
    ['CommonJS', async () => createRequire(import.meta.url)(need('index.cjs')) as Exports],
  ];
  for (const [format, load] of loaders) {
    it(`every exported class is named as exported (${format})`, async () => {
      const m = await load();
      const classes = Object.entries(m).filter(([, v]) => typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v)));
      expect(classes.map(([k]) => k)).toEqual(expect.arrayContaining(['LSTM', 'Linear', 'Sequential', 'Random', 'Parameters', 'SGD']));
      expect(classes.filter(([k, v]) => (v as { name: string }).name !== k).map(([k, v]) => `${k} is named ${(v as { name: string }).name}`))
        .toEqual([]);
      const LSTM = m.LSTM as new (o: object) => { loadStateDict(t: object): unknown };
      expect(() => new LSTM({ inputSize: 2, hiddenSize: 3 }).loadStateDict({}))
        .toThrow(/^lstm\.loadStateDict: state dict does not match this LSTM: missing weight_ih_l0/);
    });
  }
});

describe('the published declarations', () => {
  it('hold no @internal member (layer plumbing, the block, the engine)', () => {
    const dts = readFileSync(need('index.d.ts'), 'utf8');
    const internal = ['bindTo', 'bindBuffers', 'forwardChain', 'backwardChain', 'checkBackward', 'initParameters', 'inputFeatures',
      'outputFeatures', 'onBind', 'assertIdle', 'container', 'ParamBlock', 'LstmStack', 'SavedActivations', 'ChainState', 'BusyLease'];
    expect(internal.filter((name) => new RegExp(`^\\s*(readonly |protected |abstract )*${name}\\b|(class|interface|type) ${name}\\b`, 'm').test(dts)))
      .toEqual([]);
    expect(dts).not.toMatch(/^\s*readonly stack:/m);
    // The public surface is there.
    for (const name of ['declare class LSTM', 'declare class Sequential', 'retainGraph?: boolean', 'getLayer<', 'type SequenceLengths']) {
      expect(dts).toContain(name);
    }
  });
});
