/** Small seeded random helpers for the fuzzers, over the library's own generator (lib/random.ts). */
import { Random } from '../../lib/random.js';

export class Dice {
  private readonly rng: Random;
  constructor(seed: number) { this.rng = new Random(seed >>> 0); }
  /** Uniform in [0, 1). */
  next(): number { return this.rng.next(); }
  /** An integer in [0, n). */
  int(n: number): number { return Math.floor(this.rng.next() * n); }
  pick<T>(items: readonly T[]): T { return items[this.int(items.length)]!; }
  chance(p: number): boolean { return this.rng.next() < p; }
}
