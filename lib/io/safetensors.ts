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
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LstmError, describe, formatShape, rangeError, typeError } from '../errors.js';
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

/** Largest single read or write handed to the OS (fs caps one call below 2 GiB). */
const IO_CHUNK = 1 << 30;

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Sets an own enumerable property, also for the name `__proto__`, which plain assignment would not. */
function setOwn<V>(obj: Record<string, V>, key: string, value: V): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A header value for an error message: short JSON. */
function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
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

/** Random access to the bytes of a file or a buffer. */
interface ByteSource {
  /** Total length in bytes. */
  size: number;
  /** Fills `into` with the bytes starting at `position` (all of them, or throws). */
  read(position: number, into: Uint8Array): void;
}

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

interface Header {
  entries: Entry[];
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
function parseHeader(raw: Uint8Array, dataLength: number, fail: (what: string) => never): Header {
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
  const entries: Entry[] = [];
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
  let previous: Entry | undefined;
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

/** Reads, checks and copies out everything in `src`. */
function decodeFrom(src: ByteSource, where: string, sourceName: string): SafetensorsContents {
  const fail = (what: string): never => {
    throw new LstmError(`${where}: ${sourceName}: ${what}`, 'ERR_LSTM_FILE');
  };
  if (src.size < 8) {
    fail(`the file is ${src.size} bytes, shorter than the 8-byte header length (not a safetensors file?)`);
  }
  const prefix = new Uint8Array(8);
  src.read(0, prefix);
  const headerLength = new DataView(prefix.buffer).getBigUint64(0, true);
  if (headerLength > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    fail(`the header length ${headerLength} is over the ${SAFETENSORS_MAX_HEADER_BYTES / 1e6} MB limit (not a safetensors file?)`);
  }
  const n = Number(headerLength);
  if (8 + n > src.size) {
    fail(`the header length ${n} is larger than the rest of the file (${src.size - 8} bytes; truncated?)`);
  }
  const raw = new Uint8Array(n);
  src.read(8, raw);
  const dataStart = 8 + n;
  const { entries, metadata } = parseHeader(raw, src.size - dataStart, fail);

  const tensors: Record<string, Tensor<TensorData>> = {};
  const dtypes: Record<string, SafetensorsDtype> = {};
  for (const e of entries) {
    const info = DTYPES[e.dtype];
    const count = (e.end - e.begin) / info.size;
    let data: TensorData;
    try {
      data = new info.array(count);
    } catch (err) {
      return fail(`tensor ${JSON.stringify(e.name)} has ${count} elements, more than a typed array can hold (${(err as Error).message})`);
    }
    if (info.widen) {
      const bytes = new Uint8Array(e.end - e.begin);
      src.read(dataStart + e.begin, bytes);
      info.widen(bytes, data as Float32Array);
    } else {
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      src.read(dataStart + e.begin, bytes);
      if (!LITTLE_ENDIAN_HOST) byteSwap(bytes, info.size);
    }
    setOwn(tensors, e.name, { data, shape: e.shape });
    setOwn(dtypes, e.name, e.dtype);
  }
  return { tensors, metadata, dtypes };
}

/** A ByteSource over an in-memory buffer. */
function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(position, into) {
      into.set(bytes.subarray(position, position + into.length));
    },
  };
}

/**
 * Decodes a whole safetensors file held in memory. Every tensor is a fresh, aligned copy, so `bytes`
 * may start at any offset and may be reused afterwards. `sourceName` names the data in error messages.
 * @throws LstmError `ERR_LSTM_FILE` when the bytes are not a valid safetensors file.
 */
export function decodeSafetensors(bytes: Uint8Array, sourceName = '<buffer>'): SafetensorsContents {
  if (!(bytes instanceof Uint8Array)) {
    throw typeError(`decodeSafetensors: bytes must be a Uint8Array, got ${describe(bytes)}`);
  }
  if (typeof sourceName !== 'string') {
    throw typeError(`decodeSafetensors: sourceName must be a string, got ${describe(sourceName)}`);
  }
  return decodeFrom(bufferSource(bytes), 'decodeSafetensors', sourceName);
}

/**
 * Reads a safetensors file (a path) or buffer. Returns each tensor as a fresh typed array: F32 →
 * Float32Array, F64 → Float64Array, I64 → BigInt64Array, I32 → Int32Array, I16 → Int16Array,
 * I8 → Int8Array, U64/U32/U16/U8 → the unsigned arrays, BOOL → Uint8Array, and F16/BF16 → Float32Array
 * (exact). A path is read piece by piece straight into the tensors' arrays, so the file is never held
 * twice in memory.
 * @throws LstmError `ERR_LSTM_FILE` naming the file and the problem when it is not a valid safetensors
 *   file; the `fs` error (ENOENT, EACCES, ...) when it cannot be read.
 */
export function readSafetensors(pathOrBuffer: string | Uint8Array): SafetensorsContents {
  const where = 'readSafetensors';
  if (pathOrBuffer instanceof Uint8Array) return decodeFrom(bufferSource(pathOrBuffer), where, '<buffer>');
  if (typeof pathOrBuffer !== 'string') {
    throw typeError(`${where}: pathOrBuffer must be a path or a Uint8Array, got ${describe(pathOrBuffer)}`);
  }
  if (pathOrBuffer === '') throw rangeError(`${where}: path must not be empty`);
  const path = pathOrBuffer;
  const fd = fs.openSync(path, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const source: ByteSource = {
      size,
      read(position, into) {
        let done = 0;
        while (done < into.length) {
          const got = fs.readSync(fd, into, done, Math.min(into.length - done, IO_CHUNK), position + done);
          if (got === 0) {
            throw new LstmError(`${where}: ${path}: the file ended at byte ${position + done} while reading `
              + `(it is ${size} bytes long; was it changed while being read?)`, 'ERR_LSTM_FILE');
          }
          done += got;
        }
      },
    };
    return decodeFrom(source, where, path);
  } finally {
    fs.closeSync(fd);
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

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    done += fs.writeSync(fd, bytes, done, Math.min(bytes.length - done, IO_CHUNK));
  }
}

/**
 * Writes tensors (and optional string metadata) to `path` as safetensors, atomically: the bytes go to a
 * uniquely named temporary file in the same directory, which is fsynced and then renamed over `path`
 * (the directory is then fsynced where the platform allows). All arguments are checked before
 * anything touches the disk; on any failure the temporary file is removed and the error rethrown,
 * so `path` holds either its previous content or the complete new file.
 * @throws TypeError / RangeError naming the bad tensor or metadata key; the `fs` error when writing fails.
 */
export function writeSafetensors(path: string, tensors: Record<string, Tensor<TensorData>>,
  metadata?: Record<string, string>): void {
  const where = 'writeSafetensors';
  if (typeof path !== 'string') throw typeError(`${where}: path must be a string, got ${describe(path)}`);
  if (path === '') throw rangeError(`${where}: path must not be empty`);
  const plan = planFile(where, tensors, metadata);

  const target = resolve(path);
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target).slice(0, 100)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined = fs.openSync(tmp, 'wx');
  try {
    writeAll(fd, plan.head);
    for (const chunk of plan.chunks) writeAll(fd, chunk);
    fs.fsyncSync(fd);
    const closing = fd;
    fd = undefined;
    fs.closeSync(closing);
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    try { fs.unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  // Make the rename itself durable. Not possible everywhere (Windows cannot open a directory).
  try {
    const dirFd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(dirFd); } finally { fs.closeSync(dirFd); }
  } catch { /* best effort */ }
}
