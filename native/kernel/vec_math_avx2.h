// The AVX2+FMA vector math shared by the LSTM's float32 kernels (gates_avx2.cc and the fused
// step epilogue in lstm_recurrent_avx2.cc): the __m256 instantiation of vec_math_simd.h (exp,
// sigmoid, tanh accurate to a few ulp over the whole float range, and the LSTM cell), under the
// names those files use. One copy of the math for every ISA, so every path gives the same bits.
//
// Include only from files compiled with -mavx2 -mfma (*_avx2.cc). Everything here has internal
// linkage (an unnamed namespace, intrinsics only, no C++ library header), so no AVX code can leak
// into the rest of the program through the linker's choice of a weak symbol.
#pragma once

#include <immintrin.h>

#include "simd_vec.h"
#include "vec_math_simd.h"

namespace lstm {
namespace {

inline __m256 exp_ps(__m256 x) { return vm::exp_v<simd::Avx2Vec>(x); }
inline __m256 sigmoid_ps(__m256 x) { return vm::sigmoid_v<simd::Avx2Vec>(x); }
inline __m256 tanh_ps(__m256 x) { return vm::tanh_v<simd::Avx2Vec>(x); }

using CellGates = vm::CellGates<simd::Avx2Vec>;
using CellGrads = vm::CellGrads<simd::Avx2Vec>;
inline CellGates cell_gates(__m256 ai, __m256 af, __m256 ag, __m256 ao, __m256 c_prev) {
  return vm::cell_gates<simd::Avx2Vec>(ai, af, ag, ao, c_prev);
}
inline CellGrads cell_backward(__m256 i, __m256 f, __m256 g, __m256 o, __m256 t, __m256 cp,
                               __m256 dh, __m256 dc) {
  return vm::cell_backward<simd::Avx2Vec>(i, f, g, o, t, cp, dh, dc);
}

}  // namespace
}  // namespace lstm
