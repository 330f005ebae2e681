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

/** cli-progress's own tokens; every other {token} of a format comes from the payload. */
const BUILT_IN = new Set(['bar', 'percentage', 'total', 'value', 'eta', 'eta_formatted', 'duration', 'duration_formatted']);

/**
 * A bar over `total` units (null: unknown, then no ETA or percentage) with a format string of
 * cli-progress tokens ({bar}, {percentage}, {eta_formatted}, and the payload's keys). The first
 * frame, drawn before any update, shows `initial` values, and '-' for payload keys it lacks (not
 * the raw `{token}`).
 */
export function createProgress(total: number | null, format: string, enabled = process.stderr.isTTY === true,
  initial: Record<string, string | number> = {}): Progress {
  if (!enabled) return silent;
  const payload: Record<string, string | number> = {};
  for (const [, name] of format.matchAll(/\{(\w+)\}/g)) if (!BUILT_IN.has(name!)) payload[name!] = initial[name!] ?? '-';
  const bar = new cliProgress.SingleBar({
    format, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 50, fps: 5,
    barsize: 24, noTTYOutput: false,
  }, cliProgress.Presets.shades_classic);
  bar.start(total ?? 1, 0, payload);
  return {
    update: (value, payload) => bar.update(total === null ? 0 : Math.min(value, total), payload ?? {}),
    stop: () => bar.stop(),
  };
}
