#!/usr/bin/env node
// Peak resident memory of the W3 training step (I 512, H 512, 2 layers, B 64, T 50; MSE on the
// last h, Adam), ours next to PyTorch's (bench/peers/torch_memory.py), each in a fresh process.
//   node bench/memory-w3.mjs            prints both
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuInfo, machineLabel } from './lib/common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const [I, H, L, B, T] = [512, 512, 2, 64, 50];

if (process.argv[2] === '--child') {
  const { Adam, LSTM, losses, tensor } = await import('../dist/index.js');
  const base = process.resourceUsage().maxRSS;
  const lstm = new LSTM({ inputSize: I, hiddenSize: H, numLayers: L, seed: 1 });
  const opt = new Adam(lstm.parameters(), { lr: 1e-3 });
  const x = tensor(new Float32Array(T * B * I).map((_, i) => Math.sin(i)), [T, B, I]);
  const target = tensor(new Float32Array(B * H).fill(0.1), [B, H]);
  for (let step = 0; step < 5; step++) {
    const { h } = lstm.forward(x);
    const last = { data: h.data.subarray((L - 1) * B * H), shape: [B, H] };
    const { grad } = losses.mse(last, target);
    const gh = new Float32Array(L * B * H);
    gh.set(grad.data, (L - 1) * B * H);
    lstm.zeroGrad();
    lstm.backward({ h: { data: gh, shape: [L, B, H] } });
    opt.step();
  }
  console.log(JSON.stringify({ machine: machineLabel(cpuInfo(), (await import('../dist/index.js')).backendInfo()), peakMiB: process.resourceUsage().maxRSS / 1024, baseMiB: base / 1024 }));
  process.exit(0);
}

const ours = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child'], { encoding: 'utf8' });
const torch = spawnSync('/usr/bin/python3', [join(here, 'peers', 'torch_memory.py')], {
  encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '2', OMP_NUM_THREADS: '1' },
});
const parse = (r) => { try { return JSON.parse(r.stdout.trim().split('\n').pop()); } catch { return null; } };
const a = parse(ours);
const b = parse(torch);
console.log(`Machine: ${a?.machine ?? machineLabel(cpuInfo())}.\n`);
console.log('| W3 training step (5 steps) | peak RSS MiB | RSS before the model MiB |');
console.log('|---|---:|---:|');
console.log(a ? `| lstm-native | ${a.peakMiB.toFixed(0)} | ${a.baseMiB.toFixed(0)} |` : `| lstm-native | failed: ${ours.stderr.slice(0, 200)} | |`);
console.log(b ? `| PyTorch | ${b.peakMiB.toFixed(0)} | ${b.baseMiB.toFixed(0)} |` : `| PyTorch | not run: ${(torch.error?.message ?? torch.stderr).slice(0, 200)} | |`);
