/**
 * The soak in short (scripts/soak.mjs, whose full run is 50,000 training steps and 1,000,000
 * session steps): a few thousand training steps and 100,000 session steps in one process, RSS
 * growth under 5% in each phase after warm-up and no new active handles. Runs the built package
 * (dist/, built by `npm test`).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../cli/helpers.js';

describe('soak (short)', () => {
  it('3,000 training steps and 100,000 session steps: RSS growth under 5% after warm-up, no handle growth', () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'soak.mjs'), '--train-steps', '3000', '--session-steps', '100000',
      '--warmup', '0.3', '--json'], { cwd: root, encoding: 'utf8', timeout: 300_000, env: { ...process.env, LSTM_NATIVE_POISON_OUTPUTS: '' } });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      failures: string[]; sessionSteps: number; growthPercent: { training: number; sessions: number }; handles: { afterWarmup: number; end: number };
    };
    expect(report.failures).toEqual([]);
    expect(report.sessionSteps).toBe(100_000);
    expect(report.growthPercent.training).toBeLessThan(5);
    expect(report.growthPercent.sessions).toBeLessThan(5);
    expect(report.handles.end).toBeLessThanOrEqual(report.handles.afterWarmup);
  }, 300_000);
});
