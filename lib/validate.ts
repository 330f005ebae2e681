/** The small predicates every argument check uses; each throws a coded TypeError or RangeError. */
import { describe, rangeError, typeError } from './errors.js';

/** Throws unless `value` is an integer >= min (default 1). */
export function checkInteger(where: string, name: string, value: unknown, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') {
    throw typeError(`${where}: ${name} must be an integer >= ${min}, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw rangeError(`${where}: ${name} must be an integer ${range}, got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `value` is a boolean. */
export function checkBoolean(where: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw typeError(`${where}: ${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** Throws unless `value` is a finite number in [min, max) (or [min, max] when inclusive; each bound may be infinite). */
export function checkNumber(where: string, name: string, value: unknown, min = -Infinity, max = Infinity,
  maxInclusive = true): number {
  const range = min === -Infinity && max === Infinity ? ''
    : min === -Infinity ? ` ${maxInclusive ? '<=' : '<'} ${max}`
      : max === Infinity ? ` >= ${min}` : ` in [${min}, ${max}${maxInclusive ? ']' : ')'}`;
  if (typeof value !== 'number') throw typeError(`${where}: ${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value) || value < min || (maxInclusive ? value > max : value >= max)) {
    throw rangeError(`${where}: ${name} must be a finite number${range}, got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `value` is a finite number > 0. */
export function checkPositive(where: string, name: string, value: unknown): number {
  return checkFinite(where, name, value, '> 0', (v) => v > 0);
}

/** Throws unless `value` is a finite number >= 0. */
export function checkNonNegative(where: string, name: string, value: unknown): number {
  return checkFinite(where, name, value, '>= 0', (v) => v >= 0);
}

/** Throws unless `value` is a finite number passing `ok` (described by `expected`, e.g. `in (0, 1]`). */
export function checkFinite(where: string, name: string, value: unknown, expected: string, ok: (v: number) => boolean): number {
  if (typeof value !== 'number') throw typeError(`${where}: ${name} must be a finite number ${expected}, got ${describe(value)}`);
  if (!Number.isFinite(value) || !ok(value)) {
    throw rangeError(`${where}: ${name} must be a finite number ${expected}, got ${describe(value)}`);
  }
  return value;
}

/** Levenshtein distance, for "did you mean" suggestions on misspelled option names. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/**
 * Throws a TypeError for an options object that is not a plain object, and a RangeError for an
 * unknown key, suggesting the closest known one (`hiddensize` → `hiddenSize`). Options are never
 * accepted and ignored.
 */
export function checkOptions(where: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw typeError(`${where}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    let best = '';
    let bestDistance = Infinity;
    for (const k of known) {
      const d = editDistance(key.toLowerCase(), k.toLowerCase());
      if (d < bestDistance) { best = k; bestDistance = d; }
    }
    const hint = bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${best}"?)` : '';
    throw rangeError(`${where}: unknown option "${key}"${hint}; known options: ${known.join(', ')}`);
  }
  return options as Record<string, unknown>;
}
