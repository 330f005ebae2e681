/**
 * Drawing a token from a model's output logits: softmax with a temperature, optionally over the
 * k most likely tokens only (top-k), from a seeded generator so a seed gives the same text.
 * @internal
 */
import type { Random } from '../random.js';

/**
 * A token id drawn from softmax(logits / temperature), restricted to the topK largest logits when
 * topK > 0. temperature 0 picks the largest logit (greedy; the lowest id on ties).
 */
export function sampleToken(logits: Float32Array, temperature: number, topK: number, rng: Random): number {
  const V = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  let ids: number[] = Array.from({ length: V }, (_, i) => i);
  if (topK > 0 && topK < V) {
    // Ties at the cut keep the lower ids, so the draw does not depend on the sort's stability.
    ids.sort((a, b) => logits[b]! - logits[a]! || a - b);
    ids = ids.slice(0, topK);
  }
  let max = -Infinity;
  for (const i of ids) max = Math.max(max, logits[i]!);
  const weights = ids.map((i) => Math.exp((logits[i]! - max) / temperature));
  let total = 0;
  for (const w of weights) total += w;
  let u = rng.next() * total;
  for (let k = 0; k < ids.length; k++) {
    u -= weights[k]!;
    if (u < 0) return ids[k]!;
  }
  return ids[ids.length - 1]!;
}
