// CPU feature detection and the choice of the SIMD variant the kernel dispatches to.
//
// A variant counts as supported only when it is compiled into this build AND this CPU and OS can
// run it: on x86 the avx2 / avx512 files exist in every build (CMakeLists.txt compiles them with
// their own flags), so the CPU check decides; on arm64 NEON is part of the baseline ISA.
// Detection runs once, at first use, behind a function-local static (thread-safe in C++11+), and
// reads LSTM_NATIVE_ISA once at the same time. This file is compiled without SIMD flags: it must
// run on any CPU of its architecture.
#include "cpu_features.h"
#include "kernel_config.h"

#include <cstdlib>
#include <cstring>

#if defined(LSTM_NATIVE_X86)
#include <cpuid.h>
#endif

namespace lstm {
namespace {

constexpr int kNumIsas = 4;

struct CpuState {
  bool supported[kNumIsas] = {true, false, false, false};  // indexed by Isa; scalar always runs
  Isa best = Isa::Scalar;
  Isa active = Isa::Scalar;
};

#if defined(LSTM_NATIVE_X86)
// XCR0: which register state the OS saves on a context switch. A CPU can report AVX while the
// OS (an old kernel, some hypervisors) does not save YMM/ZMM state; using them then corrupts
// registers across context switches or faults, so CPUID flags alone are not enough. (macOS enables
// ZMM state lazily, on first use, so there this reads as "no AVX-512" and the AVX2 variant runs:
// slower, never wrong.)
unsigned long long read_xcr0() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  // xgetbv itself raises #UD unless the OS enabled XSAVE (OSXSAVE, CPUID.1:ECX bit 27).
  if ((ecx & (1u << 27)) == 0) return 0;
  unsigned lo = 0, hi = 0;
  // Inline asm rather than _xgetbv(): the intrinsic needs -mxsave, and this file has no ISA flags.
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}
#endif

CpuState detect() {
  CpuState s;
#if defined(LSTM_NATIVE_X86)
  __builtin_cpu_init();  // needed when called before libgcc's own constructor has run
  const unsigned long long xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;          // SSE (bit 1) + AVX upper halves (bit 2)
  const bool os_zmm = os_ymm && (xcr0 & 0xE0) == 0xE0;  // opmask (5), ZMM0-15 high (6), ZMM16-31 (7)
  const bool avx2 = os_ymm && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  // gates_avx512.cc is built with -mavx512f -mavx512dq -mavx2 -mfma: all of them must be present.
  const bool avx512 = avx2 && os_zmm && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512dq");
  s.supported[static_cast<int>(Isa::Avx2)] = avx2;
  s.supported[static_cast<int>(Isa::Avx512)] = avx512;
  s.best = avx512 ? Isa::Avx512 : avx2 ? Isa::Avx2 : Isa::Scalar;
#elif defined(LSTM_NATIVE_ARM64)
  s.supported[static_cast<int>(Isa::Neon)] = true;  // Advanced SIMD is mandatory on AArch64
  s.best = Isa::Neon;
#endif
  s.active = s.best;
  // The override exists to compare variants and to work around a suspected SIMD bug; a value that
  // names nothing runnable here is ignored rather than fatal, so a stale setting cannot break a load.
  Isa wanted;
  if (isa_from_name(kernel_config().isa, &wanted) &&
      s.supported[static_cast<int>(wanted)]) {
    s.active = wanted;
  }
  return s;
}

const CpuState& state() {
  static const CpuState s = detect();
  return s;
}

}  // namespace

bool isa_from_name(const char* name, Isa* out) {
  if (name == nullptr) return false;
  static const struct { const char* name; Isa isa; } kNames[] = {
      {"scalar", Isa::Scalar}, {"avx2", Isa::Avx2}, {"avx512", Isa::Avx512}, {"neon", Isa::Neon}};
  for (const auto& n : kNames) {
    if (std::strcmp(name, n.name) == 0) {
      *out = n.isa;
      return true;
    }
  }
  return false;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Neon: return "neon";
  }
  return "unknown";
}

bool cpu_supports(Isa isa) {
  const int k = static_cast<int>(isa);
  return k >= 0 && k < kNumIsas && state().supported[k];
}

Isa cpu_best_isa() { return state().best; }

Isa active_isa() { return state().active; }

int cpu_supported_isas(Isa* out, int cap) {
  static const Isa kBestFirst[] = {Isa::Avx512, Isa::Avx2, Isa::Neon, Isa::Scalar};
  int n = 0;
  for (Isa isa : kBestFirst) {
    if (n < cap && cpu_supports(isa)) out[n++] = isa;
  }
  return n;
}

}  // namespace lstm
