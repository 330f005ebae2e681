/** `lstm bench`: how fast a model (or a default LSTM) runs on this machine, batched and as sessions. */
import { cpus } from 'node:os';
import type { Command } from 'commander';
import { backendInfo, setNumThreads } from '../../backend.js';
import { Linear } from '../../layers/linear.js';
import { LSTM } from '../../layers/lstm.js';
import type { Module } from '../../layers/module.js';
import { Sequential } from '../../layers/sequential.js';
import { Session } from '../../infer/session.js';
import { Stepper } from '../../infer/stepper.js';
import { loadForCommand, numberOption, positiveInt } from '../load.js';

interface BenchOptions { model?: string; batchSize?: string; seqLen?: string; sessions?: string; seconds?: string; threads?: string }

/** Calls `once` (which reports the units it did) until `seconds` pass; units per second. */
async function rate(seconds: number, once: () => Promise<number>): Promise<number> {
  await once();  // warm-up: workspaces sized
  const start = performance.now();
  let units = 0;
  while (performance.now() - start < seconds * 1000) units += await once();
  return units / ((performance.now() - start) / 1000);
}

export async function runBench(o: BenchOptions): Promise<void> {
  const B = positiveInt('--batch-size', o.batchSize, 64);
  const T = positiveInt('--seq-len', o.seqLen, 100);
  const N = positiveInt('--sessions', o.sessions, 1000);
  const seconds = numberOption('--seconds', o.seconds, 2, 0.1);
  if (o.threads !== undefined) setNumThreads(positiveInt('--threads', o.threads, 1));
  const model: Module = o.model ? (await loadForCommand(o.model)).model
    : new Sequential({ lstm: new LSTM({ inputSize: 64, hiddenSize: 256, batchFirst: true }), head: new Linear({ inFeatures: 256, outFeatures: 1 }) }, { seed: 1 }).eval();
  const stepper = new Stepper(model, 'lstm bench', false);
  const input = stepper.input;
  const x = input.kind === 'tokens' ? Int32Array.from({ length: T * B }, (_, i) => i % input.vocabSize)
    : Float32Array.from({ length: T * B * input.size }, (_, i) => Math.sin(i * 0.37));
  const info = backendInfo();
  const say = (s: string) => process.stdout.write(s + '\n');
  say(`lstm bench: ${o.model ?? 'LSTM(64, 256) -> Linear(1)'}; ${info.isa}, ${info.blas} GEMM, ${info.threads} threads, ${cpus()[0]?.model ?? 'unknown CPU'}`);
  const seqs = await rate(seconds, async () => { await stepper.run({ T, B, x, lengths: null, state: null }); return B; });
  say(`batched inference (B ${B}, T ${T}):  ${Math.round(seqs).toLocaleString('en-US')} sequences/s, ${Math.round(seqs * T).toLocaleString('en-US')} steps/s`);
  for (const count of [1, N]) {
    const sessions = Array.from({ length: count }, () => new Session(model));
    const step = input.kind === 'tokens' ? 1 : new Float32Array(input.size).fill(0.1);
    const r = await rate(seconds, async () => { await Promise.all(sessions.map((s) => s.step(step))); return count; });
    say(`sessions (${count} concurrent, one step each per tick): ${Math.round(r).toLocaleString('en-US')} steps/s`);
  }
}

export function registerBench(program: Command): void {
  program.command('bench')
    .description('measure batched inference and stateful-session throughput on this machine')
    .option('-m, --model <file>', 'model file (default: LSTM(64, 256) -> Linear(1))')
    .option('-b, --batch-size <n>', 'sequences per batch', '64')
    .option('--seq-len <n>', 'steps per sequence', '100')
    .option('--sessions <n>', 'concurrent sessions to compare with one', '1000')
    .option('--seconds <n>', 'time per measurement', '2')
    .option('-t, --threads <n>', 'kernel threads')
    .addHelpText('after', `
Examples:
  lstm bench
  lstm bench --model demo-out/model.safetensors --batch-size 256 --seq-len 64 --threads 2`)
    .action(async (o: BenchOptions) => runBench(o));
}
