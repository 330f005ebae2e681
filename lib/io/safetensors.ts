/**
 * safetensors reading and writing (https://github.com/huggingface/safetensors): an 8-byte
 * little-endian u64 header length N, N bytes of UTF-8 JSON mapping each tensor name to
 * `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the first byte after the header,
 * an optional `__metadata__` string→string map), then the tensor bytes, little-endian.
 *
 * The reader is strict: every malformation is an `LstmError` with code `ERR_LSTM_FILE` whose message
 * names the file (or `<buffer>`) and what is wrong. Every tensor is copied into a fresh, aligned typed
 * array, so the data section may start at any byte offset. The writer sorts tensors by name, pads
 * the header with spaces to a multiple of 8 bytes and replaces the target atomically.
 */
import { writeFileAtomicSync } from './atomic-write.js';
import { LstmError, describe, formatShape, rangeError, typeError } from '../errors.js';
import { asyncBufferSource, bufferName, bufferSource, openFileSource, withSyncFileSource, type AsyncByteSource,
  type SyncByteSource } from './file-source.js';
import { checkShape, numel, type Tensor, type TensorData, type TensorDataConstructor } from '../tensor.js';

/** The dtypes this module reads. F16 and BF16 are widened (exactly) to Float32Array; BOOL reads as Uint8Array. */
export type SafetensorsDtype =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** What a safetensors file holds: its tensors, its `__metadata__` (empty when absent) and each tensor's stored dtype. */
export interface SafetensorsContents {
  tensors: Record<string, Tensor<TensorData>>;
  metadata: Record<string, string>;
  /** The dtype each tensor had in the file (F16/BF16 tensors are Float32Array in `tensors`). */
  dtypes: Record<string, SafetensorsDtype>;
}

/** Largest header the reader accepts, in bytes (100 MB), so a garbage length fails fast instead of allocating. */
export const SAFETENSORS_MAX_HEADER_BYTES = 100 * 1000 * 1000;

interface DtypeInfo {
  size: number;
  /** The class of the array the reader returns. */
  array: TensorDataConstructor;
  /** For dtypes widened on read (F16, BF16): converts the raw little-endian bytes. */
  widen?: (raw: Uint8Array, out: Float32Array) => void;
}

const DTYPES: Record<SafetensorsDtype, DtypeInfo> = {
  F64: { size: 8, array: Float64Array },
  F32: { size: 4, array: Float32Array },
  F16: { size: 2, array: Float32Array, widen: widenF16 },
  BF16: { size: 2, array: Float32Array, widen: widenBF16 },
  I64: { size: 8, array: BigInt64Array },
  I32: { size: 4, array: Int32Array },
  I16: { size: 2, array: Int16Array },
  I8: { size: 1, array: Int8Array },
  U64: { size: 8, array: BigUint64Array },
  U32: { size: 4, array: Uint32Array },
  U16: { size: 2, array: Uint16Array },
  U8: { size: 1, array: Uint8Array },
  BOOL: { size: 1, array: Uint8Array },
};

/** Dtypes of the safetensors spec that this reader knows but does not decode. */
const UNSUPPORTED_DTYPES = new Set(['F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64']);

/** What the writer stores for each typed array class (Uint8Array is U8, never BOOL). */
const WRITE_DTYPES: readonly [TensorDataConstructor, SafetensorsDtype][] = [
  [Float32Array, 'F32'], [Float64Array, 'F64'], [BigInt64Array, 'I64'], [Int32Array, 'I32'],
  [Int16Array, 'I16'], [Int8Array, 'I8'], [BigUint64Array, 'U64'], [Uint32Array, 'U32'],
  [Uint16Array, 'U16'], [Uint8Array, 'U8'],
];

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;


// ---------------------------------------------------------------------------------------------
// Small helpers

/** Sets an own enumerable property, also for the name `__proto__`, which plain assignment would not. */
function setOwn<V>(obj: Record<string, V>, key: string, value: V): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A header value for an error message: short JSON. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // Too deep for JSON.stringify (String() would recurse as deep): name the kind only.
    text = Array.isArray(value) ? '[…] (nested too deep to show)' : typeof value === 'object' ? '{…} (nested too deep to show)'
      : typeof value;
  }
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** Reverses the bytes of each `size`-byte element, in place (for big-endian hosts). */
function byteSwap(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

let f16Table: Uint32Array | undefined;

/** float32 bit pattern of each float16 bit pattern (exact: subnormals, infinities, NaN payloads kept). */
function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  let e = 1;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | ((e + 112) << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

function widenF16(raw: Uint8Array, out: Float32Array): void {
  if (f16Table === undefined) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16ToF32Bits(h);
  }
  const table = f16Table;
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < out.length; i++) bits[i] = table[raw[2 * i]! | (raw[2 * i + 1]! << 8)]!;
}

function widenBF16(raw: Uint8Array, out: Float32Array): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < out.length; i++) bits[i] = ((raw[2 * i]! << 16) | (raw[2 * i + 1]! << 24)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** One tensor of a file's header: where its bytes are in the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A checked header. */
export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/**
 * Finds a key that appears twice in one JSON object (JSON.parse silently keeps the last). `text` must
 * already be valid JSON. Returns the key and whether it is a top-level (tensor) name.
 */
function findDuplicateKey(text: string): { key: string; topLevel: boolean } | null {
  const stack: (Set<string> | null)[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) j += 2;
        else if (d === 0x22) break;
        else j++;
      }
      const top = stack[stack.length - 1];
      if (top) {
        let k = j + 1;
        while (k < n && /\s/.test(text[k]!)) k++;
        if (text.charCodeAt(k) === 0x3a /* : */) {
          const key = JSON.parse(text.slice(i, j + 1)) as string;
          if (top.has(key)) return { key, topLevel: stack.length === 1 };
          top.add(key);
        }
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b /* { */) stack.push(new Set());
    else if (c === 0x5b /* [ */) stack.push(null);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    i++;
  }
  return null;
}

/** Parses and checks the header JSON against a data section of `dataLength` bytes. */
export function parseHeader(raw: Uint8Array, dataLength: number, fail: (what: string) => never): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
  } catch {
    return fail('the header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(`the header is not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return fail(`the header must be a JSON object, got ${show(json)}`);
  }
  const dup = findDuplicateKey(text);
  if (dup !== null) {
    return fail(dup.topLevel
      ? `the header names ${dup.key === '__metadata__' ? '__metadata__' : `tensor ${JSON.stringify(dup.key)}`} twice`
      : `the header has the key ${JSON.stringify(dup.key)} twice in one object`);
  }

  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return fail(`__metadata__ must be an object of strings, got ${show(value)}`);
      }
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') return fail(`__metadata__[${JSON.stringify(key)}] must be a string, got ${show(v)}`);
        setOwn(metadata, key, v);
      }
      continue;
    }
    const tensor = `tensor ${JSON.stringify(name)}`;
    if (name === '') return fail('a tensor has the empty name "" (names must be non-empty; the writer refuses them too)');
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return fail(`${tensor}: the entry must be an object {dtype, shape, data_offsets}, got ${show(value)}`);
    }
    const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string') return fail(`${tensor}: dtype must be a string, got ${show(dtype)}`);
    if (!Object.prototype.hasOwnProperty.call(DTYPES, dtype)) {
      if (UNSUPPORTED_DTYPES.has(dtype)) {
        return fail(`${tensor}: dtype ${dtype} is not supported (supported: ${Object.keys(DTYPES).join(', ')})`);
      }
      return fail(`${tensor}: unknown dtype ${show(dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
    }
    const info = DTYPES[dtype as SafetensorsDtype];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      return fail(`${tensor}: shape must be an array of non-negative integers, got ${show(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
      || offsets[0] > offsets[1]) {
      return fail(`${tensor}: data_offsets must be [begin, end] with integers 0 <= begin <= end, got ${show(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const count = numel(shape as number[]);
    const need = count * info.size;
    if (!Number.isSafeInteger(need)) {
      return fail(`${tensor}: shape ${formatShape(shape as number[])} has more elements than any file can hold`);
    }
    if (end - begin !== need) {
      return fail(`${tensor}: dtype ${dtype} and shape ${formatShape(shape as number[])} need ${need} bytes, `
        + `but data_offsets [${begin}, ${end}] span ${end - begin}`);
    }
    if (end > dataLength) {
      return fail(`${tensor}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes)`);
    }
    entries.push({ name, dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], begin, end });
  }

  // The tensors must tile the data section: no overlap, no hole, nothing after the last one.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: SafetensorsEntry | undefined;
  for (const e of byOffset) {
    if (e.begin < cursor) {
      return fail(`tensors ${JSON.stringify(previous!.name)} (bytes [${previous!.begin}, ${previous!.end}]) and `
        + `${JSON.stringify(e.name)} (bytes [${e.begin}, ${e.end}]) overlap`);
    }
    if (e.begin > cursor) {
      const where = previous ? `between tensors ${JSON.stringify(previous.name)} and ${JSON.stringify(e.name)}`
        : `before tensor ${JSON.stringify(e.name)}`;
      return fail(`bytes [${cursor}, ${e.begin}] of the data section belong to no tensor (a hole ${where})`);
    }
    cursor = e.end;
    previous = e;
  }
  if (cursor !== dataLength) {
    return fail(`the data section has ${dataLength} bytes but the tensors cover only the first ${cursor} `
      + `(${dataLength - cursor} bytes belong to no tensor)`);
  }
  return { entries, metadata };
}

/** What the header says and where the data section starts. */
interface Layout extends SafetensorsHeader {
  dataStart: number;
}

/** How to save a PyTorch model in the format this package reads, for the pickle refusal. */
export const SAVE_SAFETENSORS_HINT = 'in Python, save the weights as safetensors instead: '
  + '`from safetensors.torch import save_file; save_file(model.state_dict(), "model.safetensors")`';

/** Names a file format that is not safetensors from its first bytes, or null. */
function foreignFormat(prefix: Uint8Array): string | null {
  const [a, b, c, d] = prefix;
  if (a === 0x50 && b === 0x4b && c === 0x03 && d === 0x04) {
    return 'this is a zip archive, as torch.save writes (.pt, .pth, .bin): a pickle checkpoint, which can run code '
      + `when loaded; this package never loads pickle. ${SAVE_SAFETENSORS_HINT}`;
  }
  if (a === 0x80 && b !== undefined && b >= 2 && b <= 5) {
    return `this is a Python pickle (protocol ${b}), as torch.save writes: pickle can run code when loaded and this `
      + `package never loads it. ${SAVE_SAFETENSORS_HINT}`;
  }
  if (a === 0x7b /* { */) {
    return 'this looks like JSON, not safetensors (a TensorFlow.js model.json? pass its path to loadModel, which reads '
      + 'its weight shards beside it)';
  }
  if (a === 0x89 && b === 0x48 && c === 0x44 && d === 0x46) {
    return 'this is an HDF5 file (a Keras .h5 model?): convert it with tensorflowjs_converter and load the model.json';
  }
  return null;
}

/** Turns the 8-byte prefix into the header length, checked against the file size. */
function headerLength(prefix: Uint8Array, size: number, fail: (what: string) => never): number {
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  // Only a length that cannot be right is a reason to name another format: a valid length never is.
  if (n > BigInt(SAFETENSORS_MAX_HEADER_BYTES) || 8n + n > BigInt(size)) {
    const foreign = foreignFormat(prefix);
    if (foreign !== null) fail(foreign);
  }
  if (n > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    fail(`the header length ${n} is over the ${SAFETENSORS_MAX_HEADER_BYTES / 1e6} MB limit (not a safetensors file?)`);
  }
  if (8 + Number(n) > size) fail(`the header length ${n} is larger than the rest of the file (${size - 8} bytes; truncated?)`);
  return Number(n);
}

function tooShort(size: number, fail: (what: string) => never): void {
  if (size < 8) fail(`the file is ${size} bytes, shorter than the 8-byte header length (not a safetensors file?)`);
}

/** Reads and checks the header of a synchronous source. */
function readLayoutSync(src: SyncByteSource, fail: (what: string) => never): Layout {
  tooShort(src.size, fail);
  const prefix = new Uint8Array(8);
  src.read(0, prefix);
  const raw = new Uint8Array(headerLength(prefix, src.size, fail));
  src.read(8, raw);
  return { ...parseHeader(raw, src.size - 8 - raw.length, fail), dataStart: 8 + raw.length };
}

/** Reads and checks the header of an asynchronous source. */
async function readLayout(src: AsyncByteSource, fail: (what: string) => never): Promise<Layout> {
  tooShort(src.size, fail);
  const prefix = new Uint8Array(8);
  await src.read(0, prefix);
  const raw = new Uint8Array(headerLength(prefix, src.size, fail));
  await src.read(8, raw);
  return { ...parseHeader(raw, src.size - 8 - raw.length, fail), dataStart: 8 + raw.length };
}

/** The array a tensor reads into, and the bytes the file's data goes to (the array itself, or a raw buffer to widen). */
interface Target {
  data: TensorData;
  bytes: Uint8Array;
  finish(): void;
}

function targetFor(e: SafetensorsEntry, fail: (what: string) => never): Target {
  const info = DTYPES[e.dtype];
  const count = (e.end - e.begin) / info.size;
  let data: TensorData;
  try {
    data = new info.array(count);
  } catch (err) {
    return fail(`tensor ${JSON.stringify(e.name)} has ${count} elements, more than a typed array can hold (${(err as Error).message})`);
  }
  if (info.widen) {
    const raw = new Uint8Array(e.end - e.begin);
    return { data, bytes: raw, finish: () => info.widen!(raw, data as Float32Array) };
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { data, bytes, finish: () => { if (!LITTLE_ENDIAN_HOST) byteSwap(bytes, info.size); } };
}

function fileFail(where: string, sourceName: string): (what: string) => never {
  return (what: string): never => {
    throw new LstmError(`${where}: ${sourceName}: ${what}`, 'ERR_LSTM_FILE');
  };
}

/** Reads, checks and copies out everything in `src`. */
function decodeFrom(src: SyncByteSource, where: string, sourceName: string): SafetensorsContents {
  const fail = fileFail(where, sourceName);
  const layout = readLayoutSync(src, fail);
  const out: SafetensorsContents = { tensors: {}, metadata: layout.metadata, dtypes: {} };
  for (const e of layout.entries) {
    const t = targetFor(e, fail);
    src.read(layout.dataStart + e.begin, t.bytes);
    t.finish();
    setOwn(out.tensors, e.name, { data: t.data, shape: e.shape });
    setOwn(out.dtypes, e.name, e.dtype);
  }
  return out;
}

/**
 * Decodes a whole safetensors file held in memory. Every tensor is a fresh, aligned copy, so `bytes`
 * may start at any offset and may be reused afterwards. `sourceName` names the data in error messages.
 * @throws LstmError `ERR_LSTM_FILE` when the bytes are not a valid safetensors file.
 */
export function decodeSafetensors(bytes: Uint8Array, sourceName?: string): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) {
    throw typeError(`decodeSafetensors: bytes must be a Uint8Array, got ${describe(bytes)}`);
  }
  if (sourceName !== undefined && typeof sourceName !== 'string') {
    throw typeError(`decodeSafetensors: sourceName must be a string, got ${describe(sourceName)}`);
  }
  return decodeFrom(bufferSource(bytes), 'decodeSafetensors', sourceName ?? bufferName(bytes));
}

function checkSource(where: string, pathOrBuffer: unknown): void {
  if (pathOrBuffer instanceof Uint8Array) return;
  if (typeof pathOrBuffer !== 'string') {
    throw typeError(`${where}: pathOrBuffer must be a path or a Uint8Array, got ${describe(pathOrBuffer)}`);
  }
  if (pathOrBuffer === '') throw rangeError(`${where}: path must not be empty`);
}

/**
 * Reads a safetensors file (a path) or buffer, synchronously: for small files (the event loop waits
 * until the whole file is read; {@link readSafetensorsAsync} and {@link openSafetensors} do not).
 * Returns each tensor as a fresh typed array: F32 → Float32Array, F64 → Float64Array, I64 →
 * BigInt64Array, I32 → Int32Array, I16 → Int16Array, I8 → Int8Array, U64/U32/U16/U8 → the unsigned
 * arrays, BOOL → Uint8Array, and F16/BF16 → Float32Array (exact). A path is read piece by piece
 * straight into the tensors' arrays, so the file is never held twice in memory. A Uint8Array (a
 * Buffer too) is always the file's contents, never a path.
 * @throws LstmError `ERR_LSTM_FILE` naming the file and the problem when it is not a valid safetensors
 *   file or not a regular file (a folder, FIFO or device is refused before reading); the `fs` error
 *   (ENOENT, EACCES, ...) when it cannot be opened.
 */
export function readSafetensors(pathOrBuffer: string | Uint8Array): SafetensorsContents {
  const where = 'readSafetensors';
  checkSource(where, pathOrBuffer);
  if (pathOrBuffer instanceof Uint8Array) return decodeFrom(bufferSource(pathOrBuffer), where, bufferName(pathOrBuffer));
  return withSyncFileSource(where, pathOrBuffer, (src) => decodeFrom(src, where, pathOrBuffer));
}

/** What {@link SafetensorsReader.info} tells about one tensor without reading it. */
export interface SafetensorsTensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Bytes it takes in the file. */
  byteLength: number;
}

/**
 * An open safetensors file whose header is read and checked, and whose tensors are read on demand,
 * asynchronously: memory follows what is read, and the event loop never waits on the disk.
 * Close it when done (reading after close throws).
 */
export class SafetensorsReader {
  /** The `__metadata__` map (empty when absent). */
  readonly metadata: Record<string, string>;
  private readonly byName = new Map<string, SafetensorsEntry>();
  private closed = false;

  /** @internal */
  constructor(private readonly src: AsyncByteSource, private readonly layout: Layout, readonly where: string,
    /** The file's path, or a description of the buffer. */
    readonly sourceName: string) {
    this.metadata = layout.metadata;
    for (const e of layout.entries) this.byName.set(e.name, e);
  }

  /** Tensor names, in the file's header order. */
  get names(): string[] {
    return this.layout.entries.map((e) => e.name);
  }

  /** dtype, shape and size of a tensor, or undefined when the file has no tensor of that name. */
  info(name: string): SafetensorsTensorInfo | undefined {
    const e = this.byName.get(name);
    return e && { dtype: e.dtype, shape: [...e.shape], byteLength: e.end - e.begin };
  }

  private entry(where: string, name: string): SafetensorsEntry {
    if (this.closed) throw new LstmError(`${where}: ${this.sourceName}: the reader is closed`, 'ERR_LSTM_STATE');
    const e = this.byName.get(name);
    if (!e) throw rangeError(`${where}: ${this.sourceName} has no tensor ${JSON.stringify(name)}`);
    return e;
  }

  /** Reads one tensor into a fresh typed array (the dtypes of {@link readSafetensors}). */
  async read(name: string): Promise<Tensor<TensorData>> {
    const e = this.entry('SafetensorsReader.read', name);
    const t = targetFor(e, fileFail(this.where, this.sourceName));
    await this.src.read(this.layout.dataStart + e.begin, t.bytes);
    t.finish();
    return { data: t.data, shape: [...e.shape] };
  }

  /**
   * Reads a floating-point tensor into `into` (its length must be the tensor's element count),
   * converting to float32: F32 goes straight from the file into `into`, F16/BF16 widen exactly,
   * F64 rounds to nearest. Returns the stored dtype.
   * @throws LstmError ERR_LSTM_FILE for a tensor that is not floating point.
   */
  async readInto(name: string, into: Float32Array): Promise<SafetensorsDtype> {
    const e = this.entry('SafetensorsReader.readInto', name);
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (!(into instanceof Float32Array) || into.length !== count) {
      throw rangeError(`SafetensorsReader.readInto: into must be a Float32Array of ${count} elements, got ${describe(into)}`);
    }
    const at = this.layout.dataStart + e.begin;
    if (e.dtype === 'F32') {
      const bytes = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
      await this.src.read(at, bytes);
      if (!LITTLE_ENDIAN_HOST) byteSwap(bytes, 4);
    } else if (e.dtype === 'F64' || e.dtype === 'F16' || e.dtype === 'BF16') {
      const t = targetFor(e, fileFail(this.where, this.sourceName));
      await this.src.read(at, t.bytes);
      t.finish();
      into.set(t.data as Float32Array | Float64Array);
    } else {
      throw new LstmError(`${this.where}: ${this.sourceName}: tensor ${JSON.stringify(name)} has dtype ${e.dtype}; `
        + 'parameters must be F32, F64, F16 or BF16', 'ERR_LSTM_FILE');
    }
    return e.dtype;
  }

  /** Closes the file (a buffer needs nothing). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.src.close();
  }
}

/**
 * Opens a safetensors file (a path) or buffer and checks its header; tensors are read later, one by
 * one ({@link SafetensorsReader.read}). Nothing blocks the event loop.
 * @throws LstmError `ERR_LSTM_FILE` as {@link readSafetensors}.
 */
export async function openSafetensors(pathOrBuffer: string | Uint8Array, where = 'openSafetensors'): Promise<SafetensorsReader> {
  checkSource(where, pathOrBuffer);
  const isBuffer = pathOrBuffer instanceof Uint8Array;
  const sourceName = isBuffer ? bufferName(pathOrBuffer) : pathOrBuffer;
  const src = isBuffer ? asyncBufferSource(pathOrBuffer) : await openFileSource(where, pathOrBuffer);
  try {
    return new SafetensorsReader(src, await readLayout(src, fileFail(where, sourceName)), where, sourceName);
  } catch (err) {
    await src.close();
    throw err;
  }
}

/**
 * {@link readSafetensors} without blocking the event loop: the file is read asynchronously.
 * @throws LstmError `ERR_LSTM_FILE` as {@link readSafetensors}.
 */
export async function readSafetensorsAsync(pathOrBuffer: string | Uint8Array): Promise<SafetensorsContents> {
  const reader = await openSafetensors(pathOrBuffer, 'readSafetensorsAsync');
  try {
    const out: SafetensorsContents = { tensors: {}, metadata: reader.metadata, dtypes: {} };
    for (const name of reader.names) {
      setOwn(out.tensors, name, await reader.read(name));
      setOwn(out.dtypes, name, reader.info(name)!.dtype);
    }
    return out;
  } finally {
    await reader.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

interface FilePlan {
  /** Length prefix and padded header JSON. */
  head: Uint8Array;
  /** Each tensor's bytes, little-endian, in header order (views of the caller's arrays on LE hosts). */
  chunks: Uint8Array[];
  length: number;
}

function writeDtype(data: unknown): SafetensorsDtype | undefined {
  if (!ArrayBuffer.isView(data)) return undefined;
  for (const [C, dtype] of WRITE_DTYPES) if (data instanceof C) return dtype;
  return undefined;
}

/** Checks the arguments and lays out the file; touches nothing on disk. */
function planFile(where: string, tensors: unknown, metadata: unknown): FilePlan {
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors) || ArrayBuffer.isView(tensors)
    || tensors instanceof Map) {
    throw typeError(`${where}: tensors must be an object mapping names to tensors {data, shape}, got ${describe(tensors)}`);
  }
  const metaEntries: [string, string][] = [];
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) || ArrayBuffer.isView(metadata)) {
      throw typeError(`${where}: metadata must be an object of strings, got ${describe(metadata)}`);
    }
    for (const [key, value] of Object.entries(metadata as Record<string, unknown>)) {
      if (typeof value !== 'string') {
        const tip = typeof value === 'number' || typeof value === 'boolean' ? ` (JSON-encode it: "${value}")` : '';
        throw typeError(`${where}: metadata[${JSON.stringify(key)}] must be a string, got ${describe(value)}${tip}`);
      }
      metaEntries.push([key, value]);
    }
  }

  const names = Object.keys(tensors).sort();
  const parts: string[] = [];
  if (metaEntries.length > 0) {
    parts.push(`"__metadata__":{${metaEntries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const name of names) {
    const label = `tensors[${JSON.stringify(name)}]`;
    if (name === '') throw rangeError(`${where}: tensor names must be non-empty strings, got ""`);
    if (name === '__metadata__') throw rangeError(`${where}: "__metadata__" is reserved and cannot name a tensor`);
    const t: unknown = (tensors as Record<string, unknown>)[name];
    if (t === null || typeof t !== 'object' || !('data' in t) || !('shape' in t)) {
      throw typeError(`${where}: ${label} must be a tensor {data, shape}, got ${describe(t)}`);
    }
    const { data, shape } = t as { data: unknown; shape: unknown };
    const dtype = writeDtype(data);
    if (dtype === undefined) {
      throw typeError(`${where}: ${label}.data must be one of ${WRITE_DTYPES.map(([C]) => C.name).join(', ')}, got ${describe(data)}`);
    }
    const dims = checkShape(where, `${label}.shape`, shape);
    const array = data as TensorData;
    const count = numel(dims);
    if (array.length !== count) {
      throw rangeError(`${where}: ${label} has shape ${formatShape(dims)} (${count} elements), but its data has `
        + `${array.length} elements`, 'ERR_LSTM_SHAPE');
    }
    let bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    if (!LITTLE_ENDIAN_HOST && array.BYTES_PER_ELEMENT > 1) {
      bytes = bytes.slice();
      byteSwap(bytes, array.BYTES_PER_ELEMENT);
    }
    parts.push(`${JSON.stringify(name)}:{"dtype":"${dtype}","shape":[${dims.join(',')}],`
      + `"data_offsets":[${offset},${offset + bytes.length}]}`);
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + headerLength).fill(0x20, 8 + json.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, 8);
  return { head, chunks, length: head.length + offset };
}

/**
 * Encodes tensors (and optional string metadata) as the bytes of a safetensors file: tensors sorted
 * by name, `__metadata__` first when non-empty, header padded with spaces to a multiple of 8 bytes.
 * Uint8Array is stored as U8 (there is no way to ask for BOOL).
 * @throws TypeError / RangeError naming the tensor or metadata key that is not valid.
 */
export function encodeSafetensors(tensors: Record<string, Tensor<TensorData>>, metadata?: Record<string, string>): Uint8Array {
  const plan = planFile('encodeSafetensors', tensors, metadata);
  const out = new Uint8Array(plan.length);
  out.set(plan.head, 0);
  let at = plan.head.length;
  for (const chunk of plan.chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Writes tensors (and optional string metadata) to `path` as safetensors, atomically: the bytes go to a
 * uniquely named temporary file in the target's folder, which is fsynced and then renamed over the
 * target (the folder is then fsynced). A symbolic link is followed and its target replaced; a target
 * that is not a regular file (a folder, a device) is refused. All arguments are checked before
 * anything touches the disk; on any failure the temporary file is removed, so `path` holds either its
 * previous content or the complete new file.
 * @throws TypeError / RangeError naming the bad tensor or metadata key; LstmError ERR_LSTM_FILE naming
 *   the path and the reason when writing fails (full disk, unwritable folder, ...).
 */
export function writeSafetensors(path: string, tensors: Record<string, Tensor<TensorData>>,
  metadata?: Record<string, string>): void {
  const where = 'writeSafetensors';
  if (typeof path !== 'string') throw typeError(`${where}: path must be a string, got ${describe(path)}`);
  if (path === '') throw rangeError(`${where}: path must not be empty`);
  const plan = planFile(where, tensors, metadata);
  writeFileAtomicSync(where, path, [plan.head, ...plan.chunks]);
}

/**
 * The bytes of a safetensors file as pieces to write in order (views of the tensors' arrays on
 * little-endian hosts: copy what may change before the write completes). @internal
 */
export function safetensorsChunks(where: string, tensors: Record<string, Tensor<TensorData>>,
  metadata?: Record<string, string>): Uint8Array[] {
  const plan = planFile(where, tensors, metadata);
  return [plan.head, ...plan.chunks];
}
