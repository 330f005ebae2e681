/** `lstm export`: a model file to ONNX (exportOnnx), for ONNX Runtime and other inference servers. */
import type { Command } from 'commander';
import { exportOnnx } from '../../io/onnx.js';
import { CliError, messageOf } from '../cli-error.js';
import { loadForCommand, positiveInt } from '../load.js';

interface ExportOptions { model?: string; output?: string; opset?: string; lengths?: boolean }

export async function runExport(o: ExportOptions): Promise<void> {
  const opset = positiveInt('--opset', o.opset, 17);
  if (!o.output) throw new CliError('--output <file.onnx> is required');
  const { model } = await loadForCommand(o.model);
  try {
    await exportOnnx(model, o.output, { opset, lengths: o.lengths ?? false });
  } catch (err) {
    throw new CliError(`cannot export: ${messageOf(err).replace(/^exportOnnx: /, '')}`);
  }
  process.stderr.write(`lstm export: wrote ${o.output} (ONNX opset ${opset}${o.lengths ? ', with a lengths input' : ''})\n`);
}

export function registerExport(program: Command): void {
  program.command('export')
    .description('export a model file to ONNX (the ONNX LSTM operator; runs in ONNX Runtime)')
    .requiredOption('-m, --model <file>', 'model file (.safetensors)')
    .requiredOption('-o, --output <file>', 'ONNX file to write (atomically)')
    .option('--opset <n>', 'ONNX opset, 14 to 21', '17')
    .option('--lengths', 'add an int32 lengths [batch] input (valid steps per sequence)')
    .addHelpText('after', `
Examples:
  lstm export --model demo-out/model.safetensors --output demo-out/model.onnx
  lstm export -m model.safetensors -o model.onnx --opset 14 --lengths`)
    .action(async (o: ExportOptions) => runExport(o));
}
