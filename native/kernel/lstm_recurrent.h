// Internals of the fast float32 LSTM path (lstm_step.cc / lstm_backward.cc): the step kernels
// (step_kernels_scalar.cc, lstm_recurrent_avx2.cc), W_hh packed once per call into a blocked panel
// layout (step_packing.cc), the schedulers that keep each thread on the same weights at every step
// (step_schedulers.cc), and the choice of path and split (step_policy.cc). Not part of the
// kernel's interface (lstm.h).
//
// Packed layouts (float, zero-padded so kernels always run full tiles):
//   forward  (gates of 8 hidden units interleaved): for unit block jb (units j0 = 8 jb .. j0+7),
//            two half panels of Hout x 16 floats each, one after the other:
//            pf[jb][half][k][c] = W_hh[(g*H + j0+u) * Hout + k] with g*8 + u = 16*half + c
//            (g = i, f, g, o): half 0 holds gates (i, f), half 1 gates (g, o) of the same 8 units.
//            One 6x16 register tile runs over one half panel, so the gate math runs on the tile
//            right after the product, still in L1. Each half is contiguous (16 floats = one cache
//            line per k): a panel whose rows were 32 floats apart would use only the even L1 sets,
//            and at Hout = 320 one half would no longer fit in L1 between the row tiles.
//   backward (non-transposed, for dh = dG W_hh): for column block cb (columns c0 = 16 cb .. +15 of
//            Hout), a panel of 4H x 16 floats, pb[cb][g][c] = W_hh[g * Hout + c0 + c].
#pragma once

#include <cstddef>
#include <cstdint>

namespace lstm {
namespace rec {

constexpr int kUnits = 8;    // hidden units per forward block
constexpr int kFwdCols = 32; // 4 gates x kUnits
constexpr int kHalfCols = 16; // columns of one forward half panel (2 gates x kUnits)
constexpr int kBwdCols = 16; // output columns per backward block
constexpr int kTileRows = 6; // rows of one register tile
// The fewest rows a range of the rows split is cut to when threads rebalance (run_row_steps):
// its tiles then keep 3 rows or more (for_even_parts), so each row gets the same bits.
constexpr int kMinSplitRows = 4;

// s[r*lds + c] = sum_{k<K} a[r*lda + k] * p[k*ldp + c] for r < mr (1..6), c < 16 (overwrites s).
using Tile16Fn = void (*)(int K, const float* a, ptrdiff_t lda, int mr, const float* p,
                          ptrdiff_t ldp, float* s, ptrdiff_t lds);
// The fused input + recurrent tile: s[r*lds + c] = bias[c] + sum_{k<K1} a1[r*lda1 + k] * p1[k*ldp + c]
//   + sum_{k<K2} a2[r*lda2 + k] * p2[k*ldp + c] for r < mr (1..6), c < 16 (overwrites s).
using Tile16x2Fn = void (*)(int K1, const float* a1, ptrdiff_t lda1, const float* p1, int K2,
                            const float* a2, ptrdiff_t lda2, const float* p2, ptrdiff_t ldp,
                            const float* bias, int mr, float* s, ptrdiff_t lds);
// y[i] = dot(m[i*ldm : i*ldm + K], x) for i < rows.
using DotRowsFn = void (*)(int rows, int K, const float* m, ptrdiff_t ldm, const float* x, float* y);
// The same for exactly 8 rows (the 8 units of one gate of a forward block): one accumulator per
// row and one transposing reduction for all 8, instead of a horizontal sum per row.
using Dot8Fn = void (*)(int K, const float* m, ptrdiff_t ldm, const float* x, float* y);

// The forward epilogue of one full block of kUnits (8) hidden units, fused: for r < rows,
//   a = G[r*ldg + g*H + u] + acc[r*kFwdCols + g*kUnits + u]  (g = i, f, g, o; u < 8)
//   the gates math of gates.h on a -> G (activated gates), c, tc, h (row stride ldh), and y (row
//   stride ldy, skipped when y is null); c_prev / c / tc with row stride ldc. A "row" is a batch
//   row of one block (ldg = 4H, ldc = H) or, at batch 1, one block of the only row (ldg = ldc =
//   ldh = ldy = 8): the rows' cells are independent either way.
// tc null (inference): neither G nor tc is written (nothing will read them), c and h are.
// acc is scratch: its rows may be overwritten.
// The same formulas (and float operations) as the ISA's gates_forward. nullptr: not available.
using GatesFwd8Fn = void (*)(int rows, float* acc, float* G, ptrdiff_t ldg, int H,
                             const float* c_prev, float* c, float* tc, ptrdiff_t ldc, float* h,
                             ptrdiff_t ldh, float* y, ptrdiff_t ldy);

// The backward epilogue of one row of one full column block of kBwdCols (16) hidden units, fused:
//   dh[u] += dy[u] (when dy), then the gates backward of gates.h with gates G[g*H + u],
//   c_prev[u], tc[u], dc[u] (in: from step t+1, out: to step t-1) -> dG[g*H + u].
// The same formulas (and float operations) as the ISA's gates_backward. nullptr: not available.
using GatesBwd16Fn = void (*)(float* dh, const float* dy, const float* G, int H, const float* c_prev,
                              const float* tc, float* dc, float* dG);

// dst[k * 16 + c] = rows[c][k] for k < K, c < 16 (a null row: zeros). Packs one panel of 16 weight
// rows, k-major: the forward's half panels and the hoisted product's B panels.
using Pack16Fn = void (*)(int K, const float* const* rows, float* dst);

struct RecKernels {
  const char* name;
  Tile16Fn tile16;
  Tile16x2Fn tile16x2;
  DotRowsFn dot_rows;
  Dot8Fn dot8;  // nullptr: use dot_rows
  GatesFwd8Fn gates_fwd8;
  // As gates_fwd8 with the pre-activations from acc only (G is written, not read): the fused
  // input product. nullptr: not available.
  GatesFwd8Fn gates_fwd8_acc;
  GatesBwd16Fn gates_bwd16;
  Pack16Fn pack16;
};
extern const RecKernels rec_kernels_scalar;
#if defined(LSTM_NATIVE_X86)
extern const RecKernels rec_kernels_avx2;
#endif

// The kernels of the ISA table (isa_table.h): AVX2 on any x86 CPU with AVX2, scalar otherwise.
const RecKernels& rec_kernels();

// Where part i of `total` items cut into `parts` parts of equal size (+-1) begins: even_cut(total,
// parts, parts) == total. The step schedulers' even ranges and for_even_parts below.
inline int even_cut(int total, int parts, int i) {
  return static_cast<int>(static_cast<int64_t>(total) * i / parts);
}

// Calls fn(p0, p1) for each part of [begin, end) cut into the fewest parts of at most max_part,
// all of equal size (+-1): 50 rows in parts of at most 48 are 25 + 25, not 48 + 2; 32 rows in
// tiles of at most 6 are 5,5,6,5,5,6, not 6,6,6,6,6,2. The step kernels cut their rows into chunks
// and register tiles this way: a 2-row tile would stream a weight panel for a third of the FMAs,
// and with tiles of 3 rows or more every row's k loop sums in the same order, so a row's bits do
// not depend on where the rows were cut (by thread, by run_row_steps, or not at all).
template <class Fn>
inline void for_even_parts(int begin, int end, int max_part, Fn&& fn) {
  const int n = end - begin, parts = (n + max_part - 1) / max_part;
  for (int i = 0; i < parts; ++i) {
    fn(begin + even_cut(n, parts, i), begin + even_cut(n, parts, i + 1));
  }
}

// Packed sizes in floats.
size_t packed_fwd_size(int H, int Hout);
size_t packed_bwd_size(int H, int Hout);
// The fused-input forward (the input product x_t W_ih^T folded into the step tile, no hoisted
// GEMM): W_ih packed as pack_fwd(W_ih, H, I) followed by the bias b_ih + b_hh in the same
// gate-interleaved order (ceil(H/8) * 32 floats). Used when fuse_input(); the packed region PK
// then holds packed W_hh, packed W_ih, packed bias in that order.
bool fuse_input(int B, int I, int H, int Hout);
size_t packed_in_size(int H, int I);
void pack_bias(const float* b_ih, const float* b_hh, int H, float* pbias);
size_t packed_bias_size(int H);  // floats of pack_bias's output
// Whether the fast float32 forward with a hoisted input product (B > 1, input not fused) starts
// the step tile's accumulators from b_ih + b_hh (packed by pack_bias after packed W_hh in PK)
// instead of the hoisted product: G = x W_ih^T then runs with beta 0 and no pass that first
// copies the bias into every row of G.
bool bias_in_step(int B, int I, int H, int Hout);
// Packs W_hh (4H, Hout) (in parallel over blocks).
void pack_fwd(const float* W_hh, int H, int Hout, float* pf);
// The blocked gate layout of the packed forward panels and of inference's blocked G: each block of
// kUnits units has its 4 gates side by side, column j = kFwdCols jb + kUnits g + u for unit
// kUnits jb + u of gate g. blocked_cols(H): the columns (ceil(H/8) blocks, the last one padded);
// blocked_gate_row(H, j): the row of a gate-major (4H, .) matrix behind column j, -1 for padding.
inline int blocked_cols(int H) { return (H + kUnits - 1) / kUnits * kFwdCols; }
inline int blocked_gate_row(int H, int j) {
  const int unit = j / kFwdCols * kUnits + j % kUnits, gate = j % kFwdCols / kUnits;
  return unit < H ? gate * H + unit : -1;
}
// The 16 rows of W (4H rows of ld floats, gate-major) that make half panel `half` of unit block jb:
// gates 2 half and 2 half + 1 of units 8 jb .. 8 jb + 7, each from column k0 (null past H).
void half_panel_rows(const float* W, int H, int ld, int jb, int half, int k0, const float* rows[16]);
void pack_bwd(const float* W_hh, int H, int Hout, float* pb);

// Runs fn(slice) for slice = 0..n-1 exactly once each on the pool, preferring to give a thread the
// slice it ran last time (so the weights of a slice stay in that core's L2 across steps).
void run_slices(int n, void (*fn)(void* ctx, int slice), void* ctx);
template <class Fn>
void run_slices(int n, Fn& fn) {
  run_slices(n, [](void* c, int s) { (*static_cast<Fn*>(c))(s); }, &fn);
}
// Runs fn(b0, b1, step) over the blocks [0, blocks) of every step in [0, steps), cut into `slices`
// contiguous ranges per step, in ONE pool job instead of one per step: no range of step k starts
// before every range of step k - 1 has finished (release/acquire: its writes are visible). Each
// thread claims a range of the current step (the one it ran last first, as run_slices), then
// waits for the step's stragglers. A thread only ever waits for ranges another running thread has
// claimed, so one thread alone (a late worker, a nested call) still runs every step: no deadlock.
// For the step loops with nothing to do between steps; a step of a few microseconds then costs
// one handoff, not a job's four.
// The cut points follow the threads' speeds: the thread that finishes a step last times every
// range of it and moves the cuts of the next step towards equal times (smoothed, and never more
// than half a range away from even): on shared or virtual cores one thread can run slower than
// the other for seconds, and with fixed cuts the faster one would wait for it at every step. A
// block's work must not depend on the range it ran in (the LSTM's unit blocks do not), so the cuts
// never change a bit.
void run_block_steps(int blocks, int slices, int steps,
                     void (*fn)(void* ctx, int b0, int b1, int step), void* ctx);
template <class Fn>
void run_block_steps(int blocks, int slices, int steps, Fn& fn) {
  run_block_steps(blocks, slices, steps,
                  [](void* c, int b0, int b1, int k) { (*static_cast<Fn*>(c))(b0, b1, k); }, &fn);
}

// Runs fn(r0, r1, step) over the rows [0, rows) of every step in [0, steps), for loops whose rows
// depend only on themselves from step to step (the forward and backward steps split by batch
// rows): rows [r0, r1) run step k only after they ran step k - 1, on whichever thread, and no
// step waits for other rows. Starts with `slices` contiguous row ranges, one per thread; a thread
// that runs out of work takes the second half of the rows of the range with the most work left,
// from that range's next step on (the owner hands them over between two steps). So the threads
// finish together even when one core runs slower than the other for a while, instead of the call
// waiting for the slower thread's fixed half. Ranges are never split below min_rows rows. One thread alone runs
// everything: no deadlock.
void run_row_steps(int rows, int slices, int steps, int min_rows,
                   void (*fn)(void* ctx, int r0, int r1, int step), void* ctx);
template <class Fn>
void run_row_steps(int rows, int slices, int steps, int min_rows, Fn& fn) {
  run_row_steps(rows, slices, steps, min_rows,
                [](void* c, int r0, int r1, int k) { (*static_cast<Fn*>(c))(r0, r1, k); }, &fn);
}

// Whether the forward step's slices are batch rows (each thread all units of its own rows, every
// step, with no barrier between steps: rows depend only on themselves) rather than hidden units
// (each thread its units of all rows, a barrier after every step, as every unit reads all of
// h_{t-1}). K: the step tile's depth (Hout, plus I when the input product is fused).
// LSTM_NATIVE_LSTM_SPLIT=rows|units overrides (read once).
bool split_rows(int B, int H, int K);

// How many slices to use for `blocks` blocks of work of `flops_per_step` FLOP per step.
int slice_count(int blocks, double flops_per_step);

// Which path lstm_forward / lstm_backward take for float32: LSTM_NATIVE_LSTM_PATH=reference forces
// the straightforward one (read once).
bool fast_path_enabled();
// Hoisted/large products inside the LSTM: the built-in GEMM (default; no contention between
// OpenBLAS's spinning threads and the pool in the step loop) or gemm<F>() when
// LSTM_NATIVE_LSTM_GEMM=blas.
bool lstm_use_builtin_gemm();

}  // namespace rec
}  // namespace lstm
