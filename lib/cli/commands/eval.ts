/** `lstm eval`: a model's loss and metrics on a labelled data file (Trainer.evaluate). */
import type { Command } from 'commander';
import { Stepper } from '../../infer/stepper.js';
import { Trainer } from '../../train/trainer.js';
import type { LossName, MetricName } from '../../train/types.js';
import { CliError, messageOf } from '../cli-error.js';
import { loadForCommand, positiveInt } from '../load.js';
import { formatOf, sequenceData, textData } from '../train-data.js';

interface EvalOptions { model?: string; data?: string; format?: string; loss?: string; metrics?: string; batchSize?: string; tbpttSteps?: string; json?: boolean }

export async function runEval(o: EvalOptions): Promise<void> {
  if (!o.data) throw new CliError('--data <file> is required');
  const batchSize = positiveInt('--batch-size', o.batchSize, 64);
  const steps = positiveInt('--tbptt-steps', o.tbpttSteps, 100);
  const { model, vocab } = await loadForCommand(o.model);
  const input = new Stepper(model, 'lstm eval', false).input;
  const format = formatOf(o.data, o.format);
  const metrics = (o.metrics ?? '').split(',').map((s) => s.trim()).filter(Boolean) as MetricName[];
  let result;
  try {
    const trainer = new Trainer(model, { ...(o.loss ? { loss: o.loss as LossName } : {}), metrics });
    if (format === 'text') {
      if (!vocab) throw new CliError('text data needs a model with a stored vocabulary (as lstm demo and lstm train write)');
      result = await trainer.evaluate(textData(o.data, vocab).data, { batchSize, tbptt: { steps } });
    } else {
      result = await trainer.evaluate(sequenceData(o.data, format, input.kind === 'features' ? input.size : null), { batchSize });
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(messageOf(err), 1);
  }
  if (o.json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const lines = [`loss: ${result.loss.toFixed(6)}`, ...Object.entries(result.metrics).map(([k, v]) => `${k}: ${v.toFixed(6)}`)];
  process.stdout.write(lines.join('\n') + '\n');
}

export function registerEval(program: Command): void {
  program.command('eval')
    .description('a model\'s loss and metrics on labelled data (JSONL/CSV rows with targets, or a text file for a char model)')
    .requiredOption('-m, --model <file>', 'model file (.safetensors)')
    .requiredOption('-d, --data <file>', 'data: .jsonl ({"input"|"tokens", "target"}), .csv (target columns) or .txt')
    .option('--format <jsonl|csv|text>', 'data format (default: from the extension)')
    .option('--loss <name>', 'mse, mae, huber, crossEntropy or bceWithLogits (default: crossEntropy for class ids and text, else mse)')
    .option('--metrics <list>', 'comma-separated: accuracy, perplexity, bitsPerChar, mae, rmse')
    .option('-b, --batch-size <n>', 'sequences per batch (streams for text)', '64')
    .option('--tbptt-steps <n>', 'chunk length for text', '100')
    .option('--json', 'print one JSON object')
    .addHelpText('after', `
Examples:
  lstm eval --model train-out/airline.safetensors --data examples/train/airline-test.jsonl --metrics rmse,mae
  lstm eval -m demo-out/model.safetensors -d data/tinyshakespeare.txt --metrics bitsPerChar`)
    .action(async (o: EvalOptions) => runEval(o));
}
