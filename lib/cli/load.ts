/** Loading a model for a command: any failure is one line and exit code 2, before any work. */
import { CliError, messageOf } from './cli-error.js';
import { loadModelFile, type LoadedModel } from './model-store.js';

export async function loadForCommand(path: string | undefined): Promise<LoadedModel> {
  if (!path) throw new CliError('--model <file> is required');
  try {
    return await loadModelFile(path);
  } catch (err) {
    throw new CliError(`cannot load model: ${messageOf(err).replace(/^loadModel: /, '')}`);
  }
}

/** Parses a positive integer option; CliError (exit 2) naming it otherwise. */
export function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new CliError(`${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

/** Parses a finite number option >= min; CliError (exit 2) naming it otherwise. */
export function numberOption(name: string, value: string | undefined, fallback: number, min = -Infinity): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min) throw new CliError(`${name} must be a number >= ${min}, got "${value}"`);
  return n;
}
