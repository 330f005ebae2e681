/** `lstm predict`: batch inference over a JSONL or CSV stream, one output line per input line. */
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { backendInfo, setNumThreads } from '../../backend.js';
import { predictStream, type PredictResult } from '../../infer/predict-stream.js';
import { Stepper } from '../../infer/stepper.js';
import { CliError } from '../cli-error.js';
import { csvRows, jsonlRows, type InputRow } from '../input-rows.js';
import { loadForCommand, positiveInt } from '../load.js';
import { float32Json } from '../numbers.js';
import { OutputSink, quietOnClosedStdout } from '../output-sink.js';
import { createProgress } from '../progress.js';
import { parseShard } from '../shard.js';

export interface PredictOptions {
  model?: string; input?: string; output?: string; format?: string; batchSize?: string; window?: string;
  threads?: string; shard?: string; allSteps?: boolean; state?: boolean; strict?: boolean; quiet?: boolean;
}

/** One output line for a result; a predictStream message `row K: ...` is renamed to the input line. */
function errorMessage(r: PredictResult<InputRow>): string {
  const line = (r.item as unknown as { line: number }).line;
  return r.error ? r.error.message.replace(/^row \d+: /, `line ${line}: `) : '';
}

function record(r: PredictResult<InputRow>, allSteps: boolean): string {
  const id = JSON.stringify((r.item as unknown as { id: unknown }).id ?? null);
  if (r.error) return `{"id":${id},"error":${JSON.stringify(errorMessage(r))}}\n`;
  const out = allSteps ? float32Json(r.output.data, r.output.shape[1]) : float32Json(r.output.data);
  let state = '';
  if (r.state) {
    const parts = Object.entries(r.state).map(([name, s]) =>
      `${JSON.stringify(name)}:{"h":${float32Json(s.h.data, s.h.shape[2])},"c":${float32Json(s.c.data, s.c.shape[2])}}`);
    state = `,"state":{${parts.join(',')}}`;
  }
  return `{"id":${id},"output":${out}${state}}\n`;
}

export async function runPredict(o: PredictOptions): Promise<void> {
  // The same bytes out for any --threads: dense products on OpenBLAS (which the GEMM calibration may
  // pick for the head) round differently with its thread count; the built-in GEMM does not. Read by
  // the kernel once, at its first product, so this must come before any work; an explicit
  // LSTM_NATIVE_GEMM wins.
  process.env.LSTM_NATIVE_GEMM ||= 'builtin';
  const shard = parseShard(o.shard);
  const batchSize = positiveInt('--batch-size', o.batchSize, 64);
  const window = positiveInt('--window', o.window, 16 * batchSize);
  if (o.threads !== undefined) setNumThreads(positiveInt('--threads', o.threads, 1));
  if (!o.input) throw new CliError('--input <file|-> is required');
  const format = o.format ?? (o.input.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl');
  if (format !== 'jsonl' && format !== 'csv') throw new CliError(`--format must be jsonl or csv, got "${format}"`);
  if (o.input !== '-' && (!existsSync(o.input) || statSync(o.input).isDirectory())) {
    throw new CliError(`cannot read input ${o.input}: ${existsSync(o.input) ? 'is a directory' : 'no such file'}`);
  }
  const { model } = await loadForCommand(o.model);
  const stepper = new Stepper(model, 'lstm predict', false);
  const sink = OutputSink.open(o.output ?? '-');
  if ((o.output ?? '-') === '-') quietOnClosedStdout();

  const total = o.input === '-' ? null : statSync(o.input).size;
  const source: Readable = o.input === '-' ? process.stdin : createReadStream(o.input);
  const rows = format === 'csv' ? csvRows(source, shard, stepper.input) : jsonlRows(source, shard);
  const progress = createProgress(total, ' {bar} {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}',
    process.stderr.isTTY === true && !o.quiet, { rows: 0, rate: 0 });
  const started = performance.now();
  let count = 0;
  let errors = 0;
  try {
    for await (const r of predictStream(model, rows, { batchSize, window, allSteps: o.allSteps ?? false, state: o.state ?? false })) {
      count++;
      if (r.error) {
        errors++;
        if (o.strict) throw new CliError(`${errorMessage(r)} (--strict)`, 1);
      }
      await sink.write(record(r, o.allSteps ?? false));
      if ((count & 1023) === 0) {
        const seconds = (performance.now() - started) / 1000;
        progress.update((source as { bytesRead?: number }).bytesRead ?? 0, { rows: count, rate: Math.round(count / seconds) });
      }
    }
    await sink.close();
  } catch (err) {
    sink.abort();
    throw err;
  } finally {
    progress.stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const threads = backendInfo().threads;
  if (!o.quiet) {
    process.stderr.write(`lstm predict: ${count} rows, ${errors} errors, ${seconds.toFixed(2)} s, ${Math.round(count / Math.max(seconds, 1e-9))} rows/s, `
      + `${threads} kernel thread${threads === 1 ? '' : 's'}${shard.n > 1 ? ` (shard ${shard.k}/${shard.n})` : ''}\n`);
  }
}

export function registerPredict(program: Command): void {
  program.command('predict')
    .description('run a model over every sequence of a JSONL or CSV file; one output line per input line, in input order')
    .requiredOption('-m, --model <file>', 'model file (.safetensors, as `lstm train` or model.save writes)')
    .requiredOption('-i, --input <file>', 'input: .jsonl, .csv, or - for stdin')
    .option('-o, --output <file>', 'output JSONL file, or - for stdout', '-')
    .option('--format <jsonl|csv>', 'input format (default: from the extension; jsonl for stdin)')
    .option('-b, --batch-size <n>', 'sequences per kernel call', '64')
    .option('--window <n>', 'rows read ahead and sorted by length for batching (default 16 x batch size)')
    .option('-t, --threads <n>', 'kernel threads')
    .option('--shard <k/n>', 'take only the lines whose index (from 0) modulo n is k')
    .option('--all-steps', 'output every step, not only the last valid one')
    .option('--state', 'add each sequence\'s final (h, c) of every LSTM')
    .option('--strict', 'stop at the first bad row (exit 1) instead of writing an error record')
    .option('-q, --quiet', 'no progress bar and no summary')
    .addHelpText('after', `
Input lines:   {"id": "a", "input": [[0.1, 0.2], [0.3, 0.4]]}   (feature vectors)
               {"id": "b", "tokens": [5, 12, 7]}                (models that start with an Embedding)
Output lines:  {"id": "a", "output": [0.93]}   or   {"id": "b", "error": "line 2: ..."}

Examples:
  lstm predict --model model.safetensors --input data.jsonl --output preds.jsonl
  cat data.jsonl | lstm predict -m model.safetensors -i - | head
  lstm predict -m model.safetensors -i data.csv -o - --all-steps --batch-size 256
  # 4 machines or processes, each takes every 4th line (a Slurm array, a Kubernetes Indexed Job):
  lstm predict -m model.safetensors -i data.jsonl -o part-$JOB_INDEX.jsonl --shard $JOB_INDEX/4`)
    .action(async (o: PredictOptions) => runPredict(o));
}
