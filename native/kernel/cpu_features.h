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

// ---- The x86 decision, as a pure function (cpu_features.cc runs it on this CPU's CPUID and
// XCR0; tests run it on made-up ones) -------------------------------------------------------------

// What CPUID and XGETBV report. xcr0 counts only when osxsave (CPUID.1:ECX.OSXSAVE): without it
// XGETBV itself faults, and the OS saves no AVX state.
struct X86Features {
  bool avx2 = false, fma = false, avx512f = false, avx512dq = false, osxsave = false;
  unsigned long long xcr0 = 0;
};
struct X86IsaSupport {
  bool avx2 = false;
  bool avx512 = false;
};
// avx2: AVX2 + FMA, and the OS saves XMM and YMM state (XCR0 bits 1, 2). avx512: that, AVX-512F
// + AVX-512DQ (every *_avx512.cc file is compiled with -mavx512f -mavx512dq -mavx2 -mfma), and the
// OS saves the opmask and both ZMM ranges (XCR0 bits 5, 6, 7).
X86IsaSupport x86_isa_support(const X86Features& f);

}  // namespace lstm
