// What the CPU supports, detected once at load, and which SIMD variant the kernel dispatches to.
#pragma once

namespace lstm {

enum class Isa : int { Scalar = 0, Avx2 = 1, Avx512 = 2, Neon = 3 };

// The best ISA this CPU and OS support among the variants compiled into this build.
Isa cpu_best_isa();
// Whether a given variant is compiled in and runnable on this CPU.
bool cpu_supports(Isa isa);
// "scalar", "avx2", "avx512", "neon".
const char* isa_name(Isa isa);
// The ISA the kernel currently dispatches to (cpu_best_isa() unless overridden with
// LSTM_NATIVE_ISA=scalar|avx2|avx512|neon at load, which may only lower it).
Isa active_isa();

// ---- Added with cpu_features.cc ----------------------------------------------------------------

// The supported ISAs (compiled in and runnable), best first, scalar always last. Writes at most
// `cap` of them to `out` and returns how many it wrote (cap 4 is always enough).
int cpu_supported_isas(Isa* out, int cap);
// Parses "scalar" | "avx2" | "avx512" | "neon" (exact, lowercase). False for anything else or nullptr.
bool isa_from_name(const char* name, Isa* out);

}  // namespace lstm
