#!/usr/bin/env node
// Minor page faults per call of lstm-native on a workload, counted over a fixed number of calls
// after a fixed warm-up, so the count does not depend on how fast (or how loaded) the machine is.
// A call that writes into memory the system has to hand out again (glibc returned it with munmap
// or a heap trim) pays one fault per 4 KiB page, and the kernel zeroes each page: system CPU time
// per call is printed too, which a loaded machine distorts less than wall time.
//
//   node bench/page-faults.mjs [--case W1|W2|W3|W3t] [--calls 30] [--warmup 10] [--threads 2] [--out]
//
// --out passes the previous call's results back as forward's `out` option (caller-owned result
// arrays, reused), as a loop that wants no large allocation per call does.
//
// Run it under `MALLOC_MMAP_THRESHOLD_=...` to compare allocator settings. Inference is
// `forward(x, { noGrad: true })`, a training step as in cases/ours.mjs (forward, MSE on the last
// h, backward without the input's gradient, Adam). Prints one labelled JSON line.
import { parseArgs } from 'node:util';
import { CASES, WORKLOADS, cpuInfo, lcgData, machineLabel, now, sinData } from './lib/common.mjs';

const { values } = parseArgs({
  options: {
    case: { type: 'string', default: 'W1' }, calls: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '10' }, threads: { type: 'string', default: '2' },
    out: { type: 'boolean', default: false },
  },
});
const c = CASES[values.case];
if (!c) throw new Error(`--case: expected one of ${Object.keys(CASES).join(', ')}, got ${values.case}`);
const calls = Number(values.calls), warmup = Number(values.warmup);
const mod = await import(new URL('../dist/index.js', import.meta.url).href);
mod.setNumThreads(Number(values.threads));
const { I, H, L, B, T } = WORKLOADS[c.shapes];
const lstm = new mod.LSTM({ inputSize: I, hiddenSize: H, numLayers: L, seed: 1 });
const x = mod.tensor(sinData(T * B * I), [T, B, I]);

let step;
if (c.mode === 'forward') {
  lstm.eval();
  let out;
  step = () => { const r = lstm.forward(x, { noGrad: true, ...(out ? { out } : {}) }); if (values.out) out = r; };
} else {
  lstm.train();
  const target = lcgData(B * H, 7);
  const dh = new Float32Array(L * B * H);
  const dhT = mod.tensor(dh, [L, B, H]);
  const off = (L - 1) * B * H;
  const opt = new mod.Adam(lstm.parameters(), { lr: 1e-3 });
  let out;
  step = () => {
    lstm.zeroGrad();
    const r = lstm.forward(x, out ? { out } : {});
    if (values.out) out = r;
    const { h } = r;
    const { grad } = mod.losses.mse(mod.tensor(h.data.subarray(off, off + B * H), [B, H]), mod.tensor(target, [B, H]));
    dh.set(grad.data, off);
    lstm.backward({ h: dhT }, { inputGrad: false });
    opt.step();
  };
}

for (let i = 0; i < warmup; i++) step();
const f0 = process.resourceUsage().minorPageFault;
const cpu0 = process.cpuUsage();
const t0 = now();
for (let i = 0; i < calls; i++) step();
const sec = (now() - t0) / calls;
const cpu = process.cpuUsage(cpu0);
const faults = (process.resourceUsage().minorPageFault - f0) / calls;
const malloc = Object.entries(process.env).filter(([k]) => k.startsWith('MALLOC_')).map(([k, v]) => `${k}=${v}`);
console.log(JSON.stringify({
  machine: machineLabel(cpuInfo(), mod.backendInfo()), case: values.case, calls, warmup, out: values.out,
  malloc: malloc.length ? malloc.join(' ') : 'glibc default', faults_per_call: Math.round(faults), ms_per_call: +(sec * 1e3).toFixed(2),
  sys_ms_per_call: +(cpu.system / 1e3 / calls).toFixed(2), user_ms_per_call: +(cpu.user / 1e3 / calls).toFixed(2),
}));
