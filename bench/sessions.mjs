#!/usr/bin/env node
// Steps per second of stateful sessions (model.createSession): one session stepping alone, against
// N concurrent sessions that the pool batches into one kernel call per tick. Model: a sensor-stream
// shape, LSTM(I 16, H 128) -> Linear(1) by default, or the char model with --tokens
// (Embedding(65, 64) -> LSTM(256) -> Linear(65)). Prints a table and one JSON line per case.
//
//   node bench/sessions.mjs [--sessions 1000] [--seconds 2] [--threads 2] [--tokens]
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { Embedding, Linear, LSTM, Sequential, backendInfo, setNumThreads } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000' }, seconds: { type: 'string', default: '2' },
    threads: { type: 'string', default: String(Math.min(2, cpus().length)) }, tokens: { type: 'boolean', default: false },
  },
});
const N = Number(values.sessions);
const seconds = Number(values.seconds);
setNumThreads(Number(values.threads));

const model = values.tokens
  ? new Sequential({ embed: new Embedding({ numEmbeddings: 65, embeddingDim: 64 }),
    lstm: new LSTM({ inputSize: 64, hiddenSize: 256, batchFirst: true }), head: new Linear({ inFeatures: 256, outFeatures: 65 }) }, { seed: 1 })
  : new Sequential({ lstm: new LSTM({ inputSize: 16, hiddenSize: 128, batchFirst: true }),
    head: new Linear({ inFeatures: 128, outFeatures: 1 }) }, { seed: 1 });
model.eval();
// Inputs made before timing, so the table measures the sessions, not the input generator.
const table = Array.from({ length: 97 }, (_, j) => (values.tokens ? j % 65 : Float32Array.from({ length: 16 }, (_, k) => Math.sin(j + k))));
const input = (i, t) => table[(i * 31 + t) % table.length];

/** Runs `count` sessions, each stepping in its own loop, for about `seconds`; returns steps per second. */
async function run(count) {
  const sessions = Array.from({ length: count }, () => model.createSession());
  for (const s of sessions) await s.step(input(0, 0));  // warm-up: workspaces sized
  let steps = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(sessions.map(async (s, i) => {
    for (let t = 1; performance.now() < end; t++) {
      await s.step(input(i, t));
      steps++;
    }
  }));
  return steps / ((performance.now() - start) / 1000);
}

const info = backendInfo();
console.log(`sessions bench: ${values.tokens ? 'Embedding(65,64)->LSTM(256)->Linear(65)' : 'LSTM(16,128)->Linear(1)'}, `
  + `${info.isa}, ${info.blas} GEMM, ${info.threads} threads, ${cpus()[0]?.model ?? 'unknown CPU'}`);
console.log('| sessions | steps/s | per session steps/s |');
console.log('|---:|---:|---:|');
for (const count of [1, N]) {
  const rate = await run(count);
  console.log(`| ${count} | ${rate.toFixed(0)} | ${(rate / count).toFixed(1)} |`);
  console.log(JSON.stringify({ bench: 'sessions', tokens: values.tokens, sessions: count, stepsPerSec: Math.round(rate) }));
}
