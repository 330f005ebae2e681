import { describe, rangeError, typeError } from './errors.js';

/**
 * A generator's whole state as plain JSON (four 32-bit words): what {@link Random.state} returns
 * and {@link Random.loadState} takes, so a checkpoint can store it and a resumed run continues the
 * same stream.
 */
export interface RandomState {
  algorithm: 'xoshiro128**';
  /** The four state words s0..s3, each an integer in [0, 2^32), not all zero. */
  words: [number, number, number, number];
}

/** Checks a {@link RandomState} (named `name` in messages); returns its words. @internal */
export function checkRandomState(where: string, state: unknown, name = 'state'): [number, number, number, number] {
  if (state === null || typeof state !== 'object' || Array.isArray(state)) {
    throw typeError(`${where}: ${name} must be an object { algorithm: 'xoshiro128**', words: [4 integers] }, got ${describe(state)}`);
  }
  const { algorithm, words } = state as { algorithm?: unknown; words?: unknown };
  if (algorithm !== 'xoshiro128**') {
    throw rangeError(`${where}: ${name}.algorithm must be 'xoshiro128**', got ${describe(algorithm)}`);
  }
  if (!Array.isArray(words) || words.length !== 4) {
    throw rangeError(`${where}: ${name}.words must be an array of 4 integers in [0, 4294967295], got ${describe(words)}`);
  }
  words.forEach((w: unknown, i) => {
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 0xffffffff) {
      throw rangeError(`${where}: ${name}.words[${i}] must be an integer in [0, 4294967295], got ${describe(w)}`);
    }
  });
  if (words.every((w) => w === 0)) throw rangeError(`${where}: ${name}.words must not be all zero (xoshiro128** would only give zeros)`);
  return words as [number, number, number, number];
}

/**
 * The package's pseudo-random generator: xoshiro128** 1.1 (Blackman and Vigna, 2018), seeded from
 * a 32-bit integer through SplitMix32, as its authors recommend. Small, fast, and bit-identical on
 * every platform, so a seed gives the same initial weights everywhere.
 */
import { checkInteger } from './validate.js';

/** What every seed must be: an integer in [0, 2^32). */
const MAX_SEED = 0xffffffff;

/** Throws a coded TypeError / RangeError naming `name` unless `seed` is an integer in [0, 2^32). */
export function checkSeed(where: string, name: string, seed: unknown): number {
  return checkInteger(where, name, seed, 0, MAX_SEED);
}

export class Random {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /**
   * @param seed an integer in [0, 2^32); the same seed gives the same sequence on every platform.
   * @throws TypeError for a seed that is not a number, RangeError for one that is not such an integer.
   */
  constructor(seed: number) {
    let x = checkSeed('new Random', 'seed', seed);
    const splitmix = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix();
    this.s1 = splitmix();
    this.s2 = splitmix();
    this.s3 = splitmix();
  }

  /** A generator with the given raw xoshiro128** state (not all zero); for tests against the reference. */
  static fromState(s0: number, s1: number, s2: number, s3: number): Random {
    const r = new Random(0);
    r.s0 = s0 >>> 0; r.s1 = s1 >>> 0; r.s2 = s2 >>> 0; r.s3 = s3 >>> 0;
    return r;
  }

  /** The generator's whole state, to continue the same stream later with {@link Random.loadState}. */
  state(): RandomState {
    return { algorithm: 'xoshiro128**', words: [this.s0, this.s1, this.s2, this.s3] };
  }

  /**
   * Continues from a state {@link Random.state} returned: the next draws equal those that followed it.
   * @throws TypeError / RangeError for anything but a valid xoshiro128** state; nothing changes then.
   */
  loadState(state: RandomState): void {
    [this.s0, this.s1, this.s2, this.s3] = checkRandomState('random.loadState', state);
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0; this.s1 >>>= 0; this.s2 >>>= 0; this.s3 >>>= 0;
    return result;
  }

  /** A float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A standard normal value (Box-Muller on two uniforms; the second value is discarded for simplicity). */
  normal(): number {
    const u1 = 1 - this.next(); // (0, 1]: log(u1) is finite
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Fills `out` with normal values of the given mean and standard deviation. */
  fillNormal(out: Float32Array | Float64Array, mean = 0, std = 1): void {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
  }

  /** Fills `out` with uniform values in [low, high). */
  uniform(out: Float32Array | Float64Array, low: number, high: number): void {
    const span = high - low;
    for (let i = 0; i < out.length; i++) out[i] = low + span * this.next();
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The process-wide generator: seeded by {@link manualSeed}, from the clock until then. */
let global = new Random((Date.now() ^ (process.pid << 16)) >>> 0);

/**
 * Seeds the process-wide generator, as PyTorch's `torch.manual_seed`. Every module built without
 * its own `seed` draws its seed from it, so the same calls after `manualSeed(n)` give bit-identical
 * weights and dropout masks.
 * @throws TypeError for a seed that is not a number, RangeError unless an integer in [0, 2^32).
 */
export function manualSeed(seed: number): void {
  global = new Random(checkSeed('manualSeed', 'seed', seed));
}

/**
 * The process-wide generator's state (PyTorch's `torch.get_rng_state`): with {@link setRngState}, a
 * resumed program builds the same layers with the same seeds as the interrupted one.
 */
export function getRngState(): RandomState {
  return global.state();
}

/**
 * Continues the process-wide generator from a state {@link getRngState} returned (PyTorch's
 * `torch.set_rng_state`).
 * @throws TypeError / RangeError for anything but a valid state; nothing changes then.
 */
export function setRngState(state: RandomState): void {
  const words = checkRandomState('setRngState', state);
  global = Random.fromState(...words);
}

/** A seed for a module built without one: the next draw of the process-wide generator. */
export function freshSeed(): number {
  return global.nextUint32();
}

/**
 * Fills `mask` with 0 (probability p) or 1/(1-p) from `rng`: the inverted-dropout mask of PyTorch's
 * nn.Dropout and of the dropout between LSTM layers; returns it. Package-internal.
 */
export function dropoutMask(mask: Float32Array | Float64Array, p: number, rng: Random): Float32Array | Float64Array {
  const keep = 1 / (1 - p);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.next() < p ? 0 : keep;
  return mask;
}
