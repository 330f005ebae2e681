#!/usr/bin/env node
// Soak: many training steps and session steps in one process, checking that memory and open
// handles stop growing once warm.
//   node scripts/soak.mjs [--train-steps 50000] [--session-steps 1000000] [--warmup 0.1] [--json]
// Phase 1 trains a small model with Trainer.trainStep (Adam, gradient clipping, ragged batches,
// a fresh batch object every step); phase 2 steps 64 concurrent sessions of another model through
// the session pool (model.createSession), replacing one session every 100 ticks and reading state
// back now and then. RSS (after a full GC) is taken once each phase's warm-up share of steps is
// done and again at the phase's end, the active handles after the training warm-up and at the end.
// Fails (exit 1) when RSS grew by 5% or more in a phase after its warm-up, or the handles grew. Runs the built
// package (dist/: `npm run build:ts`).
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

if (process.env.LSTM_NATIVE_SOAK_CHILD !== '1') {
  // Run again with: --expose-gc, for a full collection before each sample; and V8's young
  // generation at a fixed size, since it otherwise grows in steps (14 -> 22 -> 38 MB of heap) over
  // the first minutes while the live heap stays flat, which is sizing, not a leak.
  const flags = ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];
  const r = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, LSTM_NATIVE_SOAK_CHILD: '1' } });
  process.exit(r.status ?? 1);
}

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { LSTM, Linear, Sequential, Trainer, Adam } = await import(path.join(root, 'dist', 'index.js'));

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`soak: --${name} must be a non-negative number, got ${process.argv[i + 1]}`);
    process.exit(2);
  }
  return v;
}
const trainSteps = Math.floor(option('train-steps', 50_000));
const sessionSteps = Math.floor(option('session-steps', 1_000_000));
const warmup = option('warmup', 0.1);
const asJson = process.argv.includes('--json');
const MAX_GROWTH = 0.05;

/** RSS after a full collection, in MB (the live JS heap kept in `heapMb` beside it). */
const heapMb = {};
function rssMb(label) {
  globalThis.gc();
  globalThis.gc();
  const u = process.memoryUsage();
  if (label) heapMb[label] = +(u.heapUsed / 2 ** 20).toFixed(1);
  return u.rss / 2 ** 20;
}
/** The active handles by type (timers, sockets, files...), the promise-less ones node reports. */
const handles = () => process.getActiveResourcesInfo().filter((t) => t !== 'TTYWrap' && t !== 'PipeWrap').length;

let seed = 1;
function rand() {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 2 ** 32 - 0.5;
}

const samples = { start: rssMb(), handlesStart: handles() };
const started = performance.now();

// ---- Phase 1: training ------------------------------------------------------------------------
const trainModel = new Sequential({
  lstm: new LSTM({ inputSize: 3, hiddenSize: 16, batchFirst: true, returnSequences: false }),
  head: new Linear({ inFeatures: 16, outFeatures: 1 }),
}, { seed: 7 });
const trainer = new Trainer(trainModel, { optimizer: new Adam(trainModel.parameters(), { lr: 1e-3 }), clipGradNorm: 1 });
let lastLoss = NaN;
for (let step = 0; step < trainSteps; step++) {
  const B = 8;
  const T = 4 + (step % 5);
  const x = Array.from({ length: B }, (_, b) => Array.from({ length: T - (b % 3) }, () => [rand(), rand(), rand()]));
  const y = x.map((seq) => [seq.reduce((s, v) => s + v[0], 0)]);
  lastLoss = (await trainer.trainStep({ x, y })).loss;
  if (!Number.isFinite(lastLoss)) {
    console.error(`soak: training step ${step} gave loss ${lastLoss}`);
    process.exit(1);
  }
  if (step + 1 === Math.ceil(trainSteps * warmup)) {
    samples.trainWarm = rssMb('trainingAfterWarmup');
    samples.handlesWarm = handles();
  }
}
samples.trainEnd = rssMb('trainingEnd');
const trainSeconds = (performance.now() - started) / 1000;

// ---- Phase 2: sessions ------------------------------------------------------------------------
const stepModel = new Sequential({
  lstm: new LSTM({ inputSize: 3, hiddenSize: 16, numLayers: 2, batchFirst: true }),
  head: new Linear({ inFeatures: 16, outFeatures: 2 }),
}, { seed: 8 }).eval();
const SESSIONS = 64;
const sessions = Array.from({ length: SESSIONS }, () => stepModel.createSession());
const ticks = Math.ceil(sessionSteps / SESSIONS);
let done = 0;
const phase2 = performance.now();
for (let tick = 0; tick < ticks; tick++) {
  const n = Math.min(SESSIONS, sessionSteps - done);
  const ys = await Promise.all(sessions.slice(0, n).map((s) => s.step([rand(), rand(), rand()])));
  done += n;
  if (!Number.isFinite(ys[0].data[0])) {
    console.error(`soak: session tick ${tick} gave ${ys[0].data[0]}`);
    process.exit(1);
  }
  if (tick % 100 === 99) sessions[tick % SESSIONS] = stepModel.createSession();   // churn: the old one is dropped
  if (tick % 1000 === 500) sessions[0].setState(sessions[1].getState());
  if (tick + 1 === Math.ceil(ticks * warmup)) samples.sessionWarm = rssMb('sessionsAfterWarmup');
}
samples.sessionEnd = rssMb('end');
const sessionSeconds = (performance.now() - phase2) / 1000;
samples.handlesEnd = handles();

// Each phase is compared with its own warm-up sample: the session phase allocates the pool's
// buffers once, which is not growth of the training phase.
const pct = (a, b) => +(((b - a) / a) * 100).toFixed(2);
const r1 = (v) => +v.toFixed(1);
const trainWarm = samples.trainWarm ?? samples.trainEnd;
const sessionWarm = samples.sessionWarm ?? samples.sessionEnd;
const report = {
  trainSteps, sessionSteps: done, lastLoss,
  rssMb: { start: r1(samples.start), trainingAfterWarmup: r1(trainWarm), trainingEnd: r1(samples.trainEnd),
    sessionsAfterWarmup: r1(sessionWarm), end: r1(samples.sessionEnd) },
  heapUsedMb: heapMb,
  growthPercent: { training: pct(trainWarm, samples.trainEnd), sessions: pct(sessionWarm, samples.sessionEnd),
    overall: pct(trainWarm, samples.sessionEnd) },
  handles: { start: samples.handlesStart, afterWarmup: samples.handlesWarm ?? samples.handlesStart, end: samples.handlesEnd },
  seconds: { training: +trainSeconds.toFixed(1), sessions: +sessionSeconds.toFixed(1) },
};
const failures = [];
for (const phase of ['training', 'sessions']) {
  if (report.growthPercent[phase] >= MAX_GROWTH * 100) {
    failures.push(`RSS grew ${report.growthPercent[phase]}% in the ${phase} phase after warm-up (limit ${MAX_GROWTH * 100}%)`);
  }
}
if (report.handles.end > report.handles.afterWarmup) failures.push(`active handles grew from ${report.handles.afterWarmup} to ${report.handles.end}`);
if (asJson) console.log(JSON.stringify({ ...report, failures }));
else {
  console.log(`soak: ${trainSteps} training steps in ${report.seconds.training} s (last loss ${lastLoss.toFixed(4)}), ` +
    `${done} session steps in ${report.seconds.sessions} s`);
  const m = report.rssMb;
  console.log(`soak: RSS ${m.start} MB at start; training ${m.trainingAfterWarmup} MB after warm-up, ${m.trainingEnd} MB at its end ` +
    `(${report.growthPercent.training}%); sessions ${m.sessionsAfterWarmup} MB after warm-up, ${m.end} MB at the end ` +
    `(${report.growthPercent.sessions}%); ${report.growthPercent.overall}% from the training warm-up to the end`);
  console.log(`soak: live JS heap ${JSON.stringify(heapMb)} MB`);
  console.log(`soak: active handles ${report.handles.start} at start, ${report.handles.afterWarmup} after warm-up, ${report.handles.end} at the end`);
  for (const f of failures) console.error(`soak: FAIL: ${f}`);
}
process.exit(failures.length ? 1 : 0);
