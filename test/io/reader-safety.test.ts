/**
 * The file readers and writers against hostile paths (issue 24, findings 5-8): FIFOs and devices are
 * refused before a byte is read or written, reads never block the event loop, links are followed and
 * their target replaced atomically, memory follows what is read, deep or odd headers give coded
 * errors, and messages say what the input really was.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Linear, loadModel, LstmError, openSafetensors, readSafetensors, readSafetensorsAsync, writeSafetensors,
} from '../../lib/index.js';

let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reader-safety-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

function thrown(fn: () => unknown): LstmError {
  try {
    fn();
  } catch (err) {
    return err as LstmError;
  }
  throw new Error('did not throw');
}

/** A safetensors file from a header string and `data` bytes. */
function build(header: string, data = 0): Buffer {
  const json = Buffer.from(header);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([prefix, json, Buffer.alloc(data)]);
}

const tiny = { w: { data: new Float32Array([1, 2]), shape: [2] } };

describe('non-regular files are refused before reading (finding 5)', () => {
  it('a FIFO with no writer: readSafetensors, readSafetensorsAsync and loadModel refuse it at once', async () => {
    const fifo = path.join(dir, 'pipe.safetensors');
    execFileSync('mkfifo', [fifo]);
    const err = thrown(() => readSafetensors(fifo));
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect(err.message).toBe(`readSafetensors: ${fifo}: is a FIFO (named pipe), not a regular file; only regular files are read`);
    await expect(readSafetensorsAsync(fifo)).rejects.toMatchObject({ code: 'ERR_LSTM_FILE', message: expect.stringMatching(/is a FIFO/) });
    await expect(loadModel(fifo)).rejects.toMatchObject({ code: 'ERR_LSTM_FILE', message: expect.stringMatching(/is a FIFO/) });
  });

  it('a character device and a folder are refused', () => {
    expect(thrown(() => readSafetensors('/dev/zero')).message).toMatch(/\/dev\/zero: is a character device, not a regular file/);
    expect(thrown(() => readSafetensors(dir)).message).toMatch(/is a folder, not a regular file/);
  });

  it('reading a large file asynchronously leaves the event loop running', async () => {
    const file = path.join(dir, 'big.safetensors');
    writeSafetensors(file, { w: { data: new Float32Array(16 << 20), shape: [16 << 20] } });
    let ticks = 0;
    const timer = setInterval(() => { ticks++; }, 0);
    const immediate = () => { ticks++; if (ticks < 1e6) handle = setImmediate(immediate); };
    let handle = setImmediate(immediate);
    try {
      const got = await readSafetensorsAsync(file);
      expect(got.tensors.w!.data.length).toBe(16 << 20);
    } finally {
      clearInterval(timer);
      clearImmediate(handle);
    }
    expect(ticks).toBeGreaterThan(0);
  });
});

describe('writes through links and to devices (finding 7)', () => {
  it('a symbolic link is followed: its target is replaced in its own folder and the link stays a link', async () => {
    const real = path.join(dir, 'real');
    fs.mkdirSync(real);
    const target = path.join(real, 'model.safetensors');
    writeSafetensors(target, tiny);
    const link = path.join(dir, 'link.safetensors');
    fs.symlinkSync(path.relative(dir, target), link);
    writeSafetensors(link, { w: { data: new Float32Array([3]), shape: [1] } });
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readSafetensors(target).tensors.w!.data).toEqual(new Float32Array([3]));
    await new Linear({ inFeatures: 1, outFeatures: 1, seed: 1 }).save(link);
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(Object.keys(readSafetensors(target).tensors).sort()).toEqual(['bias', 'weight']);
    expect(fs.readdirSync(real)).toEqual(['model.safetensors']);
    expect(fs.readdirSync(dir).sort()).toEqual(['link.safetensors', 'real']);
  });

  it('a dangling link creates its target; a chain of links is followed; a loop is an error', () => {
    const dangling = path.join(dir, 'dangling');
    fs.symlinkSync('made.safetensors', dangling);
    const chain = path.join(dir, 'chain');
    fs.symlinkSync('dangling', chain);
    writeSafetensors(chain, tiny);
    expect(fs.lstatSync(path.join(dir, 'made.safetensors')).isFile()).toBe(true);
    fs.symlinkSync('loop-b', path.join(dir, 'loop-a'));
    fs.symlinkSync('loop-a', path.join(dir, 'loop-b'));
    expect(thrown(() => writeSafetensors(path.join(dir, 'loop-a'), tiny)).message).toMatch(/symbolic links to follow \(a loop\?\)/);
  });

  it('a FIFO, a device node and a link to a device are refused and left as they were', () => {
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const err = thrown(() => writeSafetensors(fifo, tiny));
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect(err.message).toMatch(/pipe: is a FIFO \(named pipe\), not a regular file; refusing to replace it/);
    expect(fs.lstatSync(fifo).isFIFO()).toBe(true);
    const toNull = path.join(dir, 'null-link');
    fs.symlinkSync('/dev/null', toNull);
    expect(thrown(() => writeSafetensors(toNull, tiny)).message).toMatch(/is a character device \(the link leads to \/dev\/null\)/);
    expect(fs.lstatSync('/dev/null').isCharacterDevice()).toBe(true);
    if (process.getuid?.() === 0) {
      // As root a rename would replace a device node: a private copy of /dev/full's numbers proves it is not.
      const node = path.join(dir, 'full');
      execFileSync('mknod', [node, 'c', '1', '7']);
      expect(thrown(() => writeSafetensors(node, tiny)).message).toMatch(/is a character device/);
      expect(fs.lstatSync(node).isCharacterDevice()).toBe(true);
    }
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('an existing file keeps its mode', () => {
    const file = path.join(dir, 'm.safetensors');
    writeSafetensors(file, tiny);
    fs.chmodSync(file, 0o640);
    writeSafetensors(file, tiny);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
  });

  it('tensors are read on demand: opening a file with a 1 GB sparse tensor and reading a small one costs little memory', async () => {
    const file = path.join(dir, 'sparse.safetensors');
    const big = 256 << 20;  // elements: 1 GiB of F32
    const header = JSON.stringify({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [big], data_offsets: [8, 8 + 4 * big] } });
    const head = build(header);
    fs.writeFileSync(file, head);
    fs.appendFileSync(file, Buffer.from(new Float32Array([5, 6]).buffer));
    fs.truncateSync(file, head.length + 8 + 4 * big);
    const before = process.memoryUsage().rss;
    const reader = await openSafetensors(file);
    try {
      expect(reader.info('b')).toEqual({ dtype: 'F32', shape: [big], byteLength: 4 * big });
      expect((await reader.read('a')).data).toEqual(new Float32Array([5, 6]));
    } finally {
      await reader.close();
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
  });
});

describe('error contract holes in the reader (findings 6 and 8)', () => {
  it('a header nested 5,000 deep is a coded file error, not a stack overflow', () => {
    const bytes = build(`{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    const err = thrown(() => readSafetensors(bytes));
    expect(err).toBeInstanceOf(LstmError);
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect(err.message).toMatch(/tensor "a": the entry must be an object \{dtype, shape, data_offsets\}, got \[…\] \(nested too deep to show\)/);
  });

  it('an empty tensor name, which the writer refuses, is refused by the reader too', () => {
    expect(() => writeSafetensors(path.join(dir, 'x'), { '': tiny.w })).toThrow(/tensor names must be non-empty/);
    const err = thrown(() => readSafetensors(build('{"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1)));
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect(err.message).toMatch(/a tensor has the empty name ""/);
  });

  it('a shape whose element count overflows is named as such', () => {
    const err = thrown(() => readSafetensors(build('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}')));
    expect(err.message).toMatch(/has more elements than any file can hold/);
  });

  it('a /proc file is named as a pseudo-file, not as "0 bytes"', () => {
    const err = thrown(() => readSafetensors('/proc/self/status'));
    expect(err.code).toBe('ERR_LSTM_FILE');
    expect(err.message).toMatch(/reports a size of 0 bytes but is not empty \(a \/proc or \/sys pseudo-file\?\)/);
  });

  it('a Buffer holding a path is read as contents, and the message says so', async () => {
    const err = thrown(() => readSafetensors(Buffer.from('/data/model.safetensors')));
    expect(err.message).toMatch(/<buffer of 23 bytes> \(its bytes read as the text "\/data\/model.safetensors": a Buffer is read as the file's contents; pass a path as a string\)/);
    await expect(loadModel(Buffer.from('model.safetensors'))).rejects.toThrow(/a Buffer is read as the file's contents/);
  });

  it('JSON bytes are named as such, with where a tfjs model.json goes', async () => {
    await expect(loadModel(Buffer.from('{"format": "layers-model", "modelTopology": {}}'))).rejects
      .toThrow(/this looks like JSON, not safetensors \(a TensorFlow.js model.json\? pass its path to loadModel/);
  });

  it('pickle checkpoints (torch.save zip and raw pickle) are refused with how to save safetensors', () => {
    const zip = Buffer.concat([Buffer.from('PK\x03\x04', 'binary'), Buffer.alloc(60)]);
    const pickle = Buffer.concat([Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46]), Buffer.alloc(60)]);
    for (const bytes of [zip, pickle]) {
      const file = path.join(dir, 'model.pt');
      fs.writeFileSync(file, bytes);
      const err = thrown(() => readSafetensors(file));
      expect(err.code).toBe('ERR_LSTM_FILE');
      expect(err.message).toMatch(/pickle.*never loads.*save_file\(model\.state_dict\(\), "model\.safetensors"\)/);
    }
  });
});
