// Command-line options of the examples: `--name value` pairs (node:util parseArgs), numbers checked.
import { parseArgs } from 'node:util';

/**
 * Parses `--key value` options; `defaults` gives each key's default (its type: number or string).
 * Prints usage and exits on --help or an unknown option.
 */
export function cliOptions(usage, defaults) {
  const options = { help: { type: 'boolean' } };
  for (const key of Object.keys(defaults)) options[key] = { type: 'string' };
  let values;
  try {
    ({ values } = parseArgs({ options, strict: true }));
  } catch (e) {
    console.error(`${e.message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(`${usage}\noptions (default): ${Object.entries(defaults).map(([k, v]) => `--${k} (${v})`).join(' ')}`);
    process.exit(0);
  }
  const out = {};
  for (const [key, def] of Object.entries(defaults)) {
    const raw = values[key];
    if (raw === undefined) { out[key] = def; continue; }
    if (typeof def === 'number' || def === null) {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) {
        console.error(`--${key} must be a number, got "${raw}"`);
        process.exit(2);
      }
      out[key] = n;
    } else {
      out[key] = raw;
    }
  }
  return out;
}
