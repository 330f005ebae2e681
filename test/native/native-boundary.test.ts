/**
 * The boundary to the addon: the shipped addon exports exactly what lib/ uses (the test hooks live
 * in the test addon only), native failures reach the caller as LstmError with the caller's stack
 * from sync and async calls alike, argument errors keep their type and code, and the workspace
 * size is asked of the addon once per shape.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LSTM, LstmError, tensor } from '../../lib/index.js';
import { loadNative, wrapBinding } from '../../lib/binding.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the shipped addon', () => {
  it('exports exactly the surface lib/binding.ts types, no test hook', () => {
    const dir = process.env.LSTM_NATIVE_BUILD_DIR || join(root, 'build');
    const shipped = createRequire(import.meta.url)(join(dir, 'Release', 'lstm_native.node')) as object;
    expect(Object.keys(shipped).sort()).toEqual([
      'adagradStep', 'adamStep', 'backendInfo', 'clampInPlace', 'linearBackward', 'linearForward',
      'lstmBackward', 'lstmBackwardAsync', 'lstmForward', 'lstmForwardAsync', 'lstmWorkspaceSize', 'maxAbs',
      'rmspropStep', 'scaleInPlace', 'setNumThreads', 'sgdStep', 'softmaxCrossEntropy', 'sumSquares',
    ]);
  });
});

describe('native failures', () => {
  function nativeError(message: string, code?: string): Error {
    return Object.assign(new Error(message), code ? { code } : {});
  }
  const fake = wrapBinding({
    failAsync: () => new Promise((_, reject) => setImmediate(() => reject(nativeError('failAsync: kernel failed: x', 'ERR_LSTM_NATIVE')))),
    fail: () => { throw nativeError('fail: kernel failed: y', 'ERR_LSTM_NATIVE'); },
    badArgAsync: () => { throw Object.assign(new TypeError('badArgAsync: T must be an integer'), { code: 'ERR_LSTM_ARG_TYPE' }); },
    noCode: () => { throw nativeError('noCode: something'); },
  }) as unknown as Record<string, (...a: unknown[]) => unknown>;

  it('an async rejection is an LstmError with its code and the caller\'s stack', async function callerOfTheAsyncCall() {
    const err = await (fake.failAsync!() as Promise<unknown>).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LstmError);
    expect(err).toMatchObject({ code: 'ERR_LSTM_NATIVE', message: 'failAsync: kernel failed: x' });
    expect((err as Error).stack).toMatch(/^LstmError: failAsync: kernel failed: x\n/);
    expect((err as Error).stack).toContain('native-boundary.test.ts');
    expect((err as Error & { cause: unknown }).cause).toBeInstanceOf(Error);
  });

  it('a sync failure is an LstmError; one without a code gets ERR_LSTM_NATIVE', () => {
    expect(() => fake.fail!()).toThrow(LstmError);
    try { fake.noCode!(); } catch (e) { expect(e).toMatchObject({ name: 'LstmError', code: 'ERR_LSTM_NATIVE' }); }
  });

  it('argument errors keep their type and code, also from an async entry point (as a rejection)', async () => {
    const err = await (fake.badArgAsync!() as Promise<unknown>).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toMatchObject({ code: 'ERR_LSTM_ARG_TYPE' });
  });

  it('the real addon\'s argument checks still throw TypeError / RangeError with a code', () => {
    expect(() => loadNative().lstmWorkspaceSize({ T: 0, B: 1, I: 1, H: 1, P: 0 })).toThrow(RangeError);
    expect(() => (loadNative().lstmForward as (...a: unknown[]) => void)(1)).toThrow(TypeError);
  });
});

describe('the workspace size', () => {
  it('is asked of the addon once per shape, not before every forward', () => {
    const native = loadNative();
    const asked: string[] = [];
    const original = native.lstmWorkspaceSize;
    native.lstmWorkspaceSize = (d) => { asked.push(JSON.stringify(d)); return original(d); };
    try {
      const lstm = new LSTM({ inputSize: 7, hiddenSize: 9, seed: 1 });
      const x = tensor(new Float32Array(13 * 3 * 7).fill(0.5), [13, 3, 7]);
      for (let i = 0; i < 3; i++) lstm.forward(x);
      expect(asked).toHaveLength(1);
      for (let i = 0; i < 3; i++) lstm.forward(x, { noGrad: true });
      expect(asked).toHaveLength(2);  // the inference workspace: another shape key
    } finally {
      native.lstmWorkspaceSize = original;
    }
  });
});
