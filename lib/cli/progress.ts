/**
 * Progress on stderr with cli-progress, only when stderr is a terminal (a log file or a pipe gets
 * no bar, just the final summary).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(value: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

const silent: Progress = { update() {}, stop() {} };

/**
 * A bar over `total` units (null: unknown, then no ETA or percentage) with a format string of
 * cli-progress tokens ({bar}, {percentage}, {eta_formatted}, and the payload's keys).
 */
export function createProgress(total: number | null, format: string, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return silent;
  const bar = new cliProgress.SingleBar({
    format, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 50, fps: 5,
    barsize: 24, noTTYOutput: false,
  }, cliProgress.Presets.shades_classic);
  bar.start(total ?? 1, 0);
  return {
    update: (value, payload) => bar.update(total === null ? 0 : Math.min(value, total), payload ?? {}),
    stop: () => bar.stop(),
  };
}
