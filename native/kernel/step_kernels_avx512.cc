// AVX-512 part of the fast LSTM step's kernels (contracts in lstm_recurrent.h): the wide register
// tiles and the fused gate epilogues of step_kernels_simd.h with V = __m512. The ISA table
// completes the set with the AVX2 entries (batch-1 GEMV, packing, a lone 16-column panel's tile).
//
// Compiled with -mavx512f -mavx512dq -mavx2 -mfma (CMakeLists.txt) and reached only through
// the ISA table (isa_table.cc) after cpu_supports(Isa::Avx512) (CPUID avx512f + avx512dq and ZMM state enabled in
// XCR0); the table below is constant data. Internal linkage only, intrinsics only (simd_vec.h).
//
// Design (per core: 32 zmm; Skylake-SP and Zen 5: two 512-bit FMA pipes, 4-cycle latency, two
// loads per cycle (Zen 5 up to four, two of them 512-bit); Zen 4: 512-bit FMAs double-pumped on two
// 256-bit pipes, i.e. one per cycle, two loads per cycle; L1d 32 KiB (Zen 5: 48), L2 1 MiB
// (Skylake-SP, Zen 4, Zen 5), 64 B/cycle from L2 to L1):
//   - Tile 12 rows x 32 columns = 24 zmm accumulators + 2 panel vectors + 1 broadcast = 27 of 32
//     registers. Per k it loads 2 panel vectors and 12 broadcasts for 24 FMAs: 0.58 loads per
//     FMA (6 rows: 8 / 12 = 0.67, as the AVX2 6 x 16 tile), under the 1 per FMA that two load
//     ports feed at two FMAs per cycle. A tile of one zmm per row (16 columns, the AVX2 tile's
//     width) would need (1 + MR) / MR > 1 loads per FMA: each broadcast would feed one FMA, and
//     Skylake-SP / Zen 5 would run load-bound. So a 16-lane tile spans two 16-column panels: the
//     two half panels of a forward unit block (gates i, f | g, o of 8 units), or two backward
//     column panels, with the packed layouts unchanged.
//   - 12 rows: the 48-row chunks of the step (kChunk) cut into 4 tiles; with >= 4 rows a tile has
//     >= 8 independent FMA chains, enough to cover 4 cycles x 2 pipes; 1-2 rows split even and odd
//     k (step_kernels_simd.h), as AVX2 does.
//   - Footprints: a forward block's two half panels are Hout x 128 B (H 256: 32 KiB, H 512: 64
//     KiB; W1's fused input, K = 64 + 256: 40 KiB), so from H ~256 on they stream from L2 for every
//     tile. At 12 rows a tile consumes 128 B of panel per 24 FMAs, i.e. per 12 cycles at two FMAs
//     per cycle: ~11 B/cycle, a sixth of what L2 delivers (6 rows: ~21 B/cycle). The operands that
//     must stay in L1 are the tile's rows of h_{t-1} (12 x Hout x 4 B = 12 KiB at Hout 256, 24 KiB
//     at 512), read by broadcast at every k and again for every unit block. A thread's share of
//     the packed W_hh (4H x Hout x 4 B / threads: 2 MiB each for W3 on 2 threads) does not fit a
//     1 MiB L2 in any case; the unit split keeps each thread's panels in its own L2 where they do.
//   - Epilogue: 8 units of a gate per row, so one zmm holds two rows (load_rows8): half the
//     instructions of the AVX2 epilogue for the same lanes, and the same formulas lane for lane.
// Bits: every output element's k-sum runs in the order of the AVX2 tile and every epilogue lane
// runs the AVX2 formulas, so this part gives the AVX2 results bit for bit (step_kernels_simd.h);
// test/native/lstm-wide-kernels.test.ts checks the emulated instantiation against the avx2 path
// and the reference path, and this one where the CPU has AVX-512.
#if defined(LSTM_NATIVE_X86)

#include "lstm_recurrent.h"
#include "simd_vec.h"
#include "step_kernels_simd.h"

namespace lstm {
namespace rec {

const RecKernels rec_kernels_avx512_part = simd_step::wide_part<simd::Avx512Vec>("avx512");

}  // namespace rec
}  // namespace lstm

#endif  // LSTM_NATIVE_X86
