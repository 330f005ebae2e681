#!/usr/bin/env node
// Rows per second and peak resident memory of `lstm predict` on the demo model's architecture
// (Embedding(65, 32) -> LSTM(256) -> Linear(65), what `lstm demo` trains; random weights, which cost
// the same) over an N-row JSONL of the demo's kind: {"id", "text", "tokens"} per line, Tiny
// Shakespeare lines of 1 to 80 characters as token ids, like examples/shakespeare-lines.jsonl. The
// command runs as a child process writing to stdout (read and counted here); its peak resident memory is its VmHWM, read from
// /proc/<pid>/status while it runs (Linux). Prints one table row and one JSON line.
//
//   node bench/predict-throughput.mjs [--rows 1000000] [--threads 2] [--batch-size 64] [--model m.safetensors] [--keep]
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Embedding, Linear, LSTM, Sequential, backendInfo, saveModel } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' }, threads: { type: 'string', default: String(Math.min(2, cpus().length)) },
    'batch-size': { type: 'string', default: '64' }, model: { type: 'string' }, keep: { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows);
const dir = mkdtempSync(join(tmpdir(), 'lstm-predict-bench-'));

// The model: the demo's architecture and vocabulary (the sorted characters of Tiny Shakespeare).
const text = readFileSync(join(root, 'data', 'tinyshakespeare.txt'), 'utf8');
const vocab = [...new Set(text)].sort();
let modelPath = values.model;
if (!modelPath) {
  modelPath = join(dir, 'model.safetensors');
  const model = new Sequential({
    embed: new Embedding({ numEmbeddings: vocab.length, embeddingDim: 32 }),
    lstm: new LSTM({ inputSize: 32, hiddenSize: 256, batchFirst: true }),
    head: new Linear({ inFeatures: 256, outFeatures: vocab.length }),
  }, { seed: 1 });
  await saveModel(model, modelPath, { metadata: { 'lstm.vocab': JSON.stringify(vocab) } });
}

// The input: the text's non-empty lines (up to 80 characters), cycled to N rows.
const index = new Map(vocab.map((c, i) => [c, i]));
const lines = text.split('\n').filter((l) => l.trim() !== '').map((l) => l.slice(0, 80));
const input = join(dir, 'in.jsonl');
await new Promise((done, fail) => {
  const out = createWriteStream(input);
  out.on('error', fail);
  let i = 0;
  const pump = () => {
    while (i < rows) {
      const line = lines[i % lines.length];
      const ok = out.write(`${JSON.stringify({ id: i + 1, text: line, tokens: Array.from(line, (c) => index.get(c)) })}\n`);
      i++;
      if (!ok) { out.once('drain', pump); return; }
    }
    out.end(done);
  };
  pump();
});

// Output to stdout, counted here (1M rows of 65 logits are ~700 MB: not worth a disk write).
const args = [join(root, 'bin', 'lstm.js'), 'predict', '-m', modelPath, '-i', input, '-o', '-',
  '--threads', values.threads, '--batch-size', values['batch-size']];
const started = performance.now();
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
let outLines = 0;
child.stdout.on('data', (d) => { for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) outLines++; });
let stderr = '';
child.stderr.on('data', (d) => { stderr += d; });
let peakKiB = 0;
const readPeak = () => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
  } catch { /* the process has ended */ }
};
const poll = setInterval(readPeak, 100);
const status = await new Promise((done) => child.on('close', done));
clearInterval(poll);
const seconds = (performance.now() - started) / 1000;
if (status !== 0) {
  process.stderr.write(stderr);
  throw new Error(`lstm predict exited with ${status}`);
}
if (outLines !== rows) throw new Error(`lstm predict wrote ${outLines} lines for ${rows} rows`);
const info = backendInfo();
const summary = /rows\/s/.test(stderr) ? stderr.trim().split('\n').pop() : '';
console.log(`predict bench: demo model Embedding(${vocab.length},32)->LSTM(256)->Linear(${vocab.length}), ${rows} rows `
  + `(${(statSync(input).size / 1e6).toFixed(1)} MB JSONL), ${info.isa}, ${values.threads} threads, ${cpus()[0]?.model ?? 'unknown CPU'}`);
console.log(`  ${summary}`);
console.log('| rows | wall s | rows/s (wall, with process start) | peak RSS MiB |');
console.log('|---:|---:|---:|---:|');
console.log(`| ${rows} | ${seconds.toFixed(1)} | ${Math.round(rows / seconds)} | ${(peakKiB / 1024).toFixed(0)} |`);
console.log(JSON.stringify({ bench: 'predict-throughput', rows, threads: Number(values.threads), batchSize: Number(values['batch-size']),
  wallSeconds: +seconds.toFixed(2), rowsPerSec: Math.round(rows / seconds), peakRssMiB: +(peakKiB / 1024).toFixed(1) }));
if (values.keep) console.log(`kept ${dir}`);
else rmSync(dir, { recursive: true, force: true });
