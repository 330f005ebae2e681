/**
 * fit never blocks Node's event loop: while it trains a model of input 64, hidden 256, batch 32,
 * 100 steps for several seconds, a timer on the main thread keeps firing, with event-loop delay
 * p99 under 20 ms (perf_hooks.monitorEventLoopDelay).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { Linear } from '../../lib/layers/linear.js';
import { LSTM } from '../../lib/layers/lstm.js';
import { Sequential } from '../../lib/layers/sequential.js';
import { Random } from '../../lib/random.js';
import { AbortError } from '../../lib/train/abort.js';

describe('event loop', () => {
  it('keeps the event-loop delay p99 under 20 ms while fit trains I 64, H 256, B 32, T 100', async () => {
    const [N, T, I, H] = [32 * 8, 100, 64, 256];
    const model = new Sequential({
      lstm: new LSTM({ inputSize: I, hiddenSize: H, batchFirst: true, returnSequences: false }),
      head: new Linear({ inFeatures: H, outFeatures: 1 }),
    }, { seed: 1 });
    const x = new Float32Array(N * T * I);
    new Random(2).uniform(x, -1, 1);
    const y = new Float32Array(N);
    new Random(3).uniform(y, -1, 1);
    let steps = 0;
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 5);
    const histogram = monitorEventLoopDelay({ resolution: 1 });
    const seconds = 4;
    const started = performance.now();
    histogram.enable();
    const result = await model.fit({ x: { data: x, shape: [N, T, I] }, y: { data: y, shape: [N, 1] } }, {
      epochs: 1000, batchSize: 32, clipGradNorm: 1, signal: AbortSignal.timeout(seconds * 1000),
      callbacks: { onBatchEnd: () => { steps++; } },
    }).catch((e: unknown) => e);
    histogram.disable();
    clearInterval(timer);
    const elapsed = (performance.now() - started) / 1000;
    const p99 = histogram.percentile(99) / 1e6;
    console.log(`event-loop delay while fit trains (I 64, H 256, B 32, T 100): p50 ${(histogram.percentile(50) / 1e6).toFixed(2)} ms, ` +
      `p99 ${p99.toFixed(2)} ms, max ${(histogram.max / 1e6).toFixed(2)} ms over ${elapsed.toFixed(1)} s, ${steps} steps, ${ticks} timer ticks`);
    expect(result).toBeInstanceOf(AbortError);
    expect(steps).toBeGreaterThan(10);
    expect(ticks).toBeGreaterThan(elapsed * 1000 / 5 * 0.5);
    expect(p99).toBeLessThan(20);
  });
});
