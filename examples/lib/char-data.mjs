// Tiny Shakespeare as token ids: the vocabulary is the sorted distinct characters of the whole file
// (65), the first 90% of the characters train and the last 10% validate (char-rnn's split, and the
// PyTorch baseline's, shared/baselines/charlm.py).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** @returns {{ chars: string[], train: Int32Array, val: Int32Array, encode: (s: string) => Int32Array }} */
export function tinyShakespeare(file = join(here, '..', '..', 'data', 'tinyshakespeare.txt')) {
  const text = readFileSync(file, 'utf8');
  const chars = [...new Set(text)].sort();
  const index = new Map(chars.map((c, i) => [c, i]));
  const encode = (s) => Int32Array.from(s, (c) => {
    const i = index.get(c);
    if (i === undefined) throw new RangeError(`character ${JSON.stringify(c)} is not in the vocabulary`);
    return i;
  });
  const ids = encode(text);
  const nTrain = Math.floor(0.9 * ids.length);
  return { chars, train: ids.subarray(0, nTrain), val: ids.subarray(nTrain), encode };
}
