// The 16-lane part of the fast LSTM step's kernels (step_kernels_simd.h) on Emu16Vec: each 16-lane
// vector is two __m256, so this runs the AVX-512 part's code (12 x 32 tiles over two panels, two
// rows per epilogue vector) on any AVX2 CPU. For the tests only, compiled into the test build
// (LSTM_NATIVE_TEST_HOOKS): the ISA table picks it with LSTM_NATIVE_STEP_KERNELS=emu512, and
// test/native/lstm-wide-kernels.test.ts checks it bit for bit against the avx2 path and to float32
// rounding against the reference path, so the AVX-512 layouts, tile heights, tails and epilogue
// row pairing are tested where no AVX-512 CPU is at hand. Not meant to be fast: 48 accumulator
// halves do not fit 16 ymm registers.
//
// Compiled with -mavx2 -mfma; reached only after cpu_supports(Isa::Avx2). Internal linkage only.
#if defined(LSTM_NATIVE_X86) && defined(LSTM_NATIVE_TEST_HOOKS)

#include "lstm_recurrent.h"
#include "simd_vec.h"
#include "step_kernels_simd.h"

namespace lstm {
namespace rec {

const RecKernels rec_kernels_emu512_part = simd_step::wide_part<simd::Emu16Vec>("emu512");

}  // namespace rec
}  // namespace lstm

#endif  // LSTM_NATIVE_X86 && LSTM_NATIVE_TEST_HOOKS
