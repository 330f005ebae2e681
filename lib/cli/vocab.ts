/** Characters <-> token ids with a model's stored vocabulary (one string per id). */
import { CliError } from './cli-error.js';

/** The ids of `text`; CliError naming the first character the vocabulary lacks. */
export function encodeText(text: string, vocab: string[]): number[] {
  const index = new Map(vocab.map((c, i) => [c, i]));
  return Array.from(text, (ch) => {
    const id = index.get(ch);
    if (id === undefined) throw new CliError(`the prompt's character ${JSON.stringify(ch)} is not in the model's vocabulary`);
    return id;
  });
}

/** The text of ids. */
export function decodeIds(ids: ArrayLike<number>, vocab: string[]): string {
  let s = '';
  for (let i = 0; i < ids.length; i++) s += vocab[ids[i]!] ?? '';
  return s;
}
