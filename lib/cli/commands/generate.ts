/** `lstm generate`: text (or token ids) from a token model, streamed to stdout. */
import type { Command } from 'commander';
import { generate } from '../../infer/generate.js';
import { CliError } from '../cli-error.js';
import { loadForCommand, numberOption, positiveInt } from '../load.js';
import { quietOnClosedStdout } from '../output-sink.js';
import { decodeIds, encodeText } from '../vocab.js';

interface GenerateCliOptions { model?: string; prompt?: string; length?: string; temperature?: string; topK?: string; seed?: string }

export async function runGenerate(o: GenerateCliOptions): Promise<void> {
  const length = positiveInt('--length', o.length, 300, 0);
  const temperature = numberOption('--temperature', o.temperature, 0.8, 0);
  const topK = positiveInt('--top-k', o.topK, 0, 0);
  const seed = o.seed === undefined ? undefined : positiveInt('--seed', o.seed, 0, 0);
  const { model, vocab } = await loadForCommand(o.model);
  let prompt: number[];
  if (vocab) {
    prompt = encodeText(o.prompt ?? vocab[0]!, vocab);
  } else {
    const raw = (o.prompt ?? '0').split(/[\s,]+/).filter(Boolean).map(Number);
    if (raw.length === 0 || raw.some((v) => !Number.isInteger(v))) {
      throw new CliError(`--prompt must be token ids separated by commas or spaces for a model without a stored vocabulary, got "${o.prompt}"`);
    }
    prompt = raw;
  }
  if (prompt.length === 0) throw new CliError('--prompt must not be empty');
  quietOnClosedStdout();
  if (vocab) process.stdout.write(o.prompt ?? vocab[0]!);
  let first = true;
  await generate(model, {
    prompt, length, temperature, topK, ...(seed === undefined ? {} : { seed }),
    onToken: (id) => {
      process.stdout.write(vocab ? decodeIds([id], vocab) : `${first ? '' : ' '}${id}`);
      first = false;
    },
  });
  process.stdout.write('\n');
}

export function registerGenerate(program: Command): void {
  program.command('generate')
    .description('generate text (or token ids) from a model that starts with an Embedding')
    .requiredOption('-m, --model <file>', 'model file (.safetensors)')
    .option('-p, --prompt <text>', 'text to start from (token ids "1,5,9" for a model without a vocabulary)')
    .option('-n, --length <n>', 'tokens to generate', '300')
    .option('--temperature <t>', 'softmax temperature; 0 = always the most likely token', '0.8')
    .option('-k, --top-k <k>', 'draw among the k most likely tokens only; 0 = all', '0')
    .option('--seed <n>', 'seed of the draws (same seed, same text)')
    .addHelpText('after', `
Examples:
  lstm generate --model demo-out/model.safetensors --prompt "ROMEO:" --length 400
  lstm generate -m demo-out/model.safetensors -p "The " --temperature 0.5 --top-k 5 --seed 1`)
    .action(async (o: GenerateCliOptions) => runGenerate(o));
}
