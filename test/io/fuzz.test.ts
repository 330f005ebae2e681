/**
 * Fuzzing the file loaders: valid model files, plain safetensors files and TensorFlow.js models are
 * mutated (byte flips, truncation, header-length edits, header JSON structure edits, architecture and
 * manifest edits) and every case must load a valid model or throw an Error with a `code` whose
 * message names the source; never a crash, a hang or a raw JS error.
 *
 * The budget is LSTM_NATIVE_FUZZ_CASES (default 20,000: 16,000 in-memory safetensors and model-file
 * cases, 4,000 tfjs cases through real files); LSTM_NATIVE_FUZZ_SEED picks the sequence (default
 * fixed). `node scripts/fuzz-loaders.mjs [cases] [seed]` runs this file with a larger budget.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Dropout, Embedding, Linear, LSTM, loadModel, Module, readSafetensors, readSafetensorsAsync, Sequential, writeSafetensors,
} from '../../lib/index.js';
import { Dice } from '../reliability/dice.js';

const CASES = Number(process.env.LSTM_NATIVE_FUZZ_CASES ?? 20_000);
const SEED = Number(process.env.LSTM_NATIVE_FUZZ_SEED ?? 20261206);
const TFJS_SHARE = 0.2;
const tfjsFixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tfjs');

let dir: string;
beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-')); });
afterAll(() => { fs.rmSync(dir, { recursive: true, force: true }); });

/** Values that stress a JSON field: wrong types, edges of integers, huge and deep structures. */
/** Stands for an array nested 10,000 deep (deeper than a recursive formatter survives) until serialized. */
const DEEP = '__fuzz_deep__';
const DEEP_TEXT = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;

/** JSON text of a mutated value, with the deep placeholders expanded (also inside JSON-in-JSON strings). */
function serialize(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? 'null';
  } catch {
    return '"too deep to serialize again"';  // a value parsed back from DEEP_TEXT
  }
  return text.replaceAll(`"${DEEP}"`, DEEP_TEXT);
}

function oddValue(d: Dice): unknown {
  return d.pick<() => unknown>([
    () => -1, () => 0, () => 1, () => 2 ** 31, () => 2 ** 53, () => 2 ** 64, () => 1.5, () => -0.5, () => 1e308,
    () => 'x', () => '', () => null, () => true, () => [], () => {}, () => [1, 2], () => [2 ** 40, 2 ** 40], () => [-1],
    () => ({ a: 1 }), () => DEEP, () => 'F32', () => 'F8_E4M3', () => 'Q4', () => '__metadata__',
  ])();
}

/** Mutates a JSON value in place somewhere: replace, delete, add or duplicate a field. */
function mutateJson(d: Dice, value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 6 || d.chance(0.15)) return oddValue(d);
  if (Array.isArray(value)) {
    if (value.length === 0 || d.chance(0.2)) return d.chance(0.5) ? [...value, oddValue(d)] : value.slice(1);
    const i = d.int(value.length);
    value[i] = mutateJson(d, value[i], depth + 1);
    return value;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 0 || d.chance(0.1)) {
    obj[d.pick(['dtype', 'shape', 'data_offsets', 'type', 'options', 'extra', ''])] = oddValue(d);
    return obj;
  }
  const k = d.pick(keys);
  if (d.chance(0.1)) delete obj[k];
  else if (typeof obj[k] === 'string' && d.chance(0.5) && /^[[{]/.test(obj[k] as string)) {
    // A JSON string inside JSON (the architecture in the metadata): mutate its structure too.
    try {
      obj[k] = serialize(mutateJson(d, JSON.parse(obj[k] as string), depth + 1));
    } catch {
      obj[k] = oddValue(d);
    }
  } else obj[k] = mutateJson(d, obj[k], depth + 1);
  return obj;
}

/** Splits a safetensors file into its header JSON text and data. */
function split(bytes: Uint8Array): { header: string; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'), data: bytes.subarray(8 + n) };
}

function join(header: string, data: Uint8Array, length?: bigint): Uint8Array {
  const json = Buffer.from(header);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length ?? BigInt(json.length));
  return Buffer.concat([prefix, json, data]);
}

/** One mutation of a valid file. */
function mutateBytes(d: Dice, seed: Uint8Array): Uint8Array {
  const out = Buffer.from(seed);
  switch (d.int(7)) {
    case 0: {  // byte flips anywhere
      for (let k = 1 + d.int(8); k > 0; k--) {
        const at = d.int(out.length);
        out[at] = out[at]! ^ (1 << d.int(8));
      }
      return out;
    }
    case 1:  // truncation
      return out.subarray(0, d.int(out.length));
    case 2: {  // the header length
      const { header, data } = split(out);
      const n = BigInt(Buffer.byteLength(header));
      return join(header, data, d.pick([0n, 1n, n - 1n, n + 1n, n + 8n, 2n ** 63n, 2n ** 64n - 1n, BigInt(d.int(1 << 30))]));
    }
    case 3: {  // bytes flipped inside the header only (keeps the length)
      const { header, data } = split(out);
      const h = Buffer.from(header);
      for (let k = 1 + d.int(3); k > 0; k--) h[d.int(h.length)] = d.pick([0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x5c, 0x30, 0xff, 0x00]);
      return join(h.toString('latin1'), data);
    }
    case 4: {  // text edits: a duplicated entry, an appended data byte, a removed data byte
      const { header, data } = split(out);
      const pick = d.int(3);
      if (pick === 0) {
        const m = /"([^"]+)":\{"dtype[^}]*\}/.exec(header);
        return m ? join(header.replace('{', `{${m[0]},`), data) : out;
      }
      return pick === 1 ? join(header, Buffer.concat([data, Buffer.from([0])])) : join(header, data.subarray(0, data.length - 1));
    }
    default: {  // structural JSON edits of the header (and of the architecture inside it)
      const { header, data } = split(out);
      let json: unknown;
      try { json = JSON.parse(header); } catch { return out; }
      for (let k = 1 + d.int(2); k > 0; k--) json = mutateJson(d, json);
      return join(serialize(json), data);
    }
  }
}

function expectCoded(err: unknown, source: string, context: string): void {
  if (!(err instanceof Error) || typeof (err as { code?: unknown }).code !== 'string'
    || !String((err as unknown as { code: string }).code).startsWith('ERR_LSTM') || !err.message.includes(source)) {
    throw new Error(`${context}: not a coded error naming ${source}: ${String((err as Error)?.stack ?? err)}`);
  }
}

async function seedFiles(): Promise<Uint8Array[]> {
  const models: Module[] = [
    new Sequential({
      embed: new Embedding({ numEmbeddings: 9, embeddingDim: 3, paddingIdx: 0, seed: 1 }),
      lstm: new LSTM({ inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, batchFirst: true, seed: 2 }),
      drop: new Dropout({ p: 0.1 }),
      head: new Linear({ inFeatures: 8, outFeatures: 2, seed: 3 }),
    }),
    new LSTM({ inputSize: 2, hiddenSize: 3, projSize: 2, returnSequences: false, seed: 4 }),
    new Linear({ inFeatures: 3, outFeatures: 2, bias: false, seed: 5 }),
  ];
  const out: Uint8Array[] = [];
  for (const [i, m] of models.entries()) {
    const file = path.join(dir, `seed${i}.safetensors`);
    await m.save(file, { metadata: { note: 'fuzz seed' } });
    out.push(fs.readFileSync(file));
  }
  const plain = path.join(dir, 'plain.safetensors');
  writeSafetensors(plain, {
    a: { data: new Float64Array([1, 2]), shape: [2] }, b: { data: new BigInt64Array([3n]), shape: [] },
    c: { data: new Uint8Array(0), shape: [0, 4] }, d: { data: new Int16Array(6), shape: [2, 3] },
  }, { k: 'v' });
  out.push(fs.readFileSync(plain));
  return out;
}

describe('loader fuzzing', () => {
  it(`${CASES} mutated files: each loads a valid model or throws a coded error naming its source`, async () => {
    const d = new Dice(SEED);
    const seeds = await seedFiles();
    const tfjsCases = Math.round(CASES * TFJS_SHARE);
    const outcomes = { loaded: 0, refused: 0, tfjsLoaded: 0, tfjsRefused: 0 };
    const started = Date.now();

    for (let i = 0; i < CASES - tfjsCases; i++) {
      const bytes = mutateBytes(d, d.pick(seeds));
      const context = `case ${i} (seed ${SEED}; bytes ${Buffer.from(bytes).toString('base64').slice(0, 200)})`;
      const source = `<buffer of ${bytes.length} bytes>`;
      try {
        readSafetensors(bytes);
      } catch (err) {
        expectCoded(err, source, `readSafetensors ${context}`);
      }
      try {
        const model = await loadModel(bytes);
        expect(model).toBeInstanceOf(Module);
        expect(model.parameters().size).toBe(model.slots.reduce((n, s) => n + s.size, 0));
        outcomes.loaded++;
      } catch (err) {
        expectCoded(err, source, `loadModel ${context}`);
        outcomes.refused++;
      }
    }

    const bufferSeconds = (Date.now() - started) / 1000;
    // tfjs: the model.json and its shard go through real files.
    const fixtures = ['seq', 'bidir', 'bidir_last'].map((name) => ({
      json: fs.readFileSync(path.join(tfjsFixtures, name, 'model.json'), 'utf8'),
      shard: fs.readFileSync(path.join(tfjsFixtures, name, 'group1-shard1of1.bin')),
    }));
    const modelJson = path.join(dir, 'model.json');
    const shardFile = path.join(dir, 'group1-shard1of1.bin');
    for (let i = 0; i < tfjsCases; i++) {
      const f = d.pick(fixtures);
      let json = f.json;
      let shard: Uint8Array = f.shard;
      const what = d.int(4);
      if (what === 0) {
        const b = Buffer.from(json);
        for (let k = 1 + d.int(4); k > 0; k--) b[d.int(b.length)] = d.pick([0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x30, 0x2f, 0x2e]);
        json = b.toString('latin1');
      } else if (what === 3) {
        shard = d.chance(0.5) ? shard.subarray(0, d.int(shard.length)) : Buffer.concat([shard, Buffer.alloc(1 + d.int(8))]);
      } else {
        let parsed = JSON.parse(json) as unknown;
        for (let k = 1 + d.int(3); k > 0; k--) parsed = mutateJson(d, parsed);
        json = serialize(parsed);
      }
      fs.writeFileSync(modelJson, json);
      fs.writeFileSync(shardFile, shard);
      try {
        await loadModel(modelJson);
        outcomes.tfjsLoaded++;
      } catch (err) {
        expectCoded(err, dir, `tfjs case ${i} (seed ${SEED}; model.json ${json.slice(0, 300)})`);
        outcomes.tfjsRefused++;
      }
    }
    if (process.env.SHOW_DIFFS || CASES > 20_000) {
      console.log(`fuzz: ${CASES} cases in ${((Date.now() - started) / 1000).toFixed(1)} s (in-memory ones `
        + `${bufferSeconds.toFixed(1)} s): ${JSON.stringify(outcomes)}`);
    }
    // The mutations must reach past the first checks: some cases load, most are refused.
    expect(outcomes.loaded + outcomes.tfjsLoaded).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(CASES / 4);
  }, Math.max(120_000, CASES * 10));

  it('the async reader agrees with the sync one on every mutated file', async () => {
    const d = new Dice(SEED + 1);
    const seeds = await seedFiles();
    for (let i = 0; i < 500; i++) {
      const bytes = mutateBytes(d, d.pick(seeds));
      let sync: unknown;
      let async: unknown;
      try { sync = readSafetensors(bytes); } catch (err) { sync = (err as Error).message.replace(/^readSafetensors/, ''); }
      try { async = await readSafetensorsAsync(bytes); } catch (err) { async = (err as Error).message.replace(/^readSafetensorsAsync/, ''); }
      expect(async).toEqual(sync);
    }
  });
});
