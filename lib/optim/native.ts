/**
 * The addon for the optimizer and clipping kernels (native/binding_optim.cc; typed in
 * lib/binding.ts with the rest of the native surface).
 * @internal
 */
import { loadNative, type NativeBinding } from '../binding.js';

/** The addon, with the optimizer kernels typed. */
export function optimNative(): NativeBinding {
  return loadNative();
}
