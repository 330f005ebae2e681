/**
 * Error construction for argument checks, in one wording everywhere:
 * `lstm.forward: x must have shape [T, B, 32] (inputSize 32), got [10, 4, 31]`.
 * User mistakes are TypeError (wrong kind of value) or RangeError (wrong shape or value), each with
 * a `code`; failures inside the library are LstmError.
 */

/** Codes carried by every error this package throws. */
export type LstmErrorCode =
  | 'ERR_LSTM_ARG_TYPE'
  | 'ERR_LSTM_ARG_RANGE'
  | 'ERR_LSTM_SHAPE'
  | 'ERR_LSTM_STATE'
  | 'ERR_LSTM_STATE_DICT'
  | 'ERR_LSTM_BUSY'
  | 'ERR_LSTM_NON_FINITE'
  | 'ERR_LSTM_FILE'
  | 'ERR_LSTM_NATIVE'
  | 'ERR_LSTM_NATIVE_LOAD';

/** An error raised inside the library (not a bad argument): a corrupt file, a native failure. */
export class LstmError extends Error {
  readonly code: LstmErrorCode;
  constructor(message: string, code: LstmErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LstmError';
    this.code = code;
  }
}

function withCode<E extends Error>(err: E, code: LstmErrorCode): E & { code: LstmErrorCode } {
  return Object.assign(err, { code });
}

/** A TypeError with a code: the argument is the wrong kind of value. */
export function typeError(message: string, code: LstmErrorCode = 'ERR_LSTM_ARG_TYPE'): TypeError {
  return withCode(new TypeError(message), code);
}

/** A RangeError with a code: the argument has the wrong shape or value. */
export function rangeError(message: string, code: LstmErrorCode = 'ERR_LSTM_ARG_RANGE'): RangeError {
  return withCode(new RangeError(message), code);
}

/** Describes a received value for an error message: `a Float64Array of 12 elements`, `the number 1.5`. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const name = value.constructor.name;
    return `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name} of ${(value as unknown as { length: number }).length} elements`;
  }
  if (Array.isArray(value)) return `an Array of ${value.length} elements`;
  switch (typeof value) {
    case 'number': return `the number ${value}`;
    case 'bigint': return `the bigint ${value}`;
    case 'string': return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
    case 'boolean': return `${value}`;
    case 'function': return 'a function';
    default: return 'an object';
  }
}

/** Formats a shape as `[10, 4, 31]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
