/** The error a run rejects with when its AbortSignal fires, shaped like Node's own AbortError. */

/** `name` 'AbortError', `code` 'ABORT_ERR', `cause` the signal's reason, as Node's APIs reject. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/** The AbortError for an aborted signal, carrying its reason. @internal */
export function abortError(where: string, signal: AbortSignal, detail = ''): AbortError {
  return new AbortError(`${where}: aborted${detail}`, { cause: signal.reason });
}
