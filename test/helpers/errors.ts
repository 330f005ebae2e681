/** Assertions for the errors the library throws: class, full message and code. */
import { expect } from 'vitest';

/** Asserts that fn throws an instance of Kind whose message matches and, when given, whose `code` is code. */
export function expectError(fn: () => unknown, Kind: abstract new (...args: never[]) => Error, message: RegExp, code?: string): void {
  let caught: unknown;
  try { fn(); } catch (e) { caught = e; }
  expect(caught, `expected ${Kind.name} ${message}`).toBeInstanceOf(Kind);
  expect((caught as Error).message).toMatch(message);
  if (code) expect((caught as { code?: string }).code).toBe(code);
}
