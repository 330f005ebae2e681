// Sequence forward of one LSTM layer-direction (contract and layouts in lstm.h).
//
// Reference path (double always; float with LSTM_NATIVE_LSTM_PATH=reference):
//   1. G = X W_ih^T + (b_ih + b_hh)              one GEMM over all T*B rows, hoisted out of the loop
//   2. per step t:  G_t += h_{t-1} W_hh^T         one recurrent GEMM (B, 4H) through gemm<F>()
//                   fused gates (gates.h)         activations, c, tanh(c), h; kept for backward
//                   h_t = (o * tanh c) W_hr^T     only with a projection (P > 0)
// Fast float32 path (the default): the same formulas in another order.
//   - the hoisted product through the built-in GEMM (on the kernel's pool: OpenBLAS's threads
//     would keep spinning into the step loop and fight the pool for the 2 cores), in chunks of 4
//     steps run just before them when G is too large to stay in cache over the call (else each
//     step's epilogue waits on G_t from memory; forward_impl);
//   - W_hh packed once per call into panels of 8 hidden units x 4 gates (lstm_recurrent.h);
//   - per step ONE parallel region (and when nothing happens between steps, i.e. no hoisted
//     chunk and no projection, one pool job for ALL steps). The slices are batch rows when each
//     thread gets 8 rows or more and the weights are not too big to stream in full
//     (rec::split_rows): each thread runs all units of its rows through every step with no
//     barrier, and a thread that runs out of rows takes half of another's from its next step on
//     (rec::run_row_steps), so a slower core does not hold up the call. Otherwise unit blocks,
//     synchronised per step by rec::run_block_steps: each thread takes the same range of unit
//     blocks at every step (its weights stay in its L2), with cuts that move towards equal times
//     when one thread runs slower. A thread computes h_{t-1} x panel for its rows in 6x16
//     register tiles (rec_kernels().tile16, AVX2 or scalar), adds the hoisted pre-activations
//     and runs the gate math (AVX2: rec_kernels().gates_fwd8, the add and gates.h's formulas
//     fused over the rows of a block of 8 units; else the gates.h function on a copy) on the tile
//     while it is in L1, writing gates, c, tanh(c), h and the y row of those units directly; the
//     rows the next step's epilogue will write are prefetched during the tiles, and the hoisted G
//     rows the next block's epilogue reads at this step. Batch 1: a dot-product GEMV on the unpacked W_hh (no packing
//     cost; both cores split the rows), 8 rows per kernel call, then one epilogue call over a
//     group of blocks (independent cells, so their latencies overlap).
//   - fused input (rec::fuse_input: B > 1 and 2I <= Hout, e.g. I 64, H 256): no hoisted product;
//     W_ih and the bias are packed like W_hh and each step tile computes
//     bias + x_t W_ih^T + h_{t-1} W_hh^T in one set of accumulators (rec_kernels().tile16x2), the
//     epilogue takes the pre-activations from the tile alone and still writes G_t (the gates)
//     for backward. Not for large I (I = H = 512: the longer step K loses to the hoisted GEMM).
//   - the projection (P > 0) stays one GEMM per step after the region.
// lstm_forward_inference: the same step code with ping-pong h/c buffers and the hoisted product
// computed per chunk of Tc steps (no history kept: the epilogue skips the G and tanh(c) stores).
// With several chunks and the steps split by hidden units, each chunk's product runs inside the
// steps' single pool job as one more "step" in which each thread computes the G columns of its own
// unit blocks, and G holds each block's 4 gates side by side (FastStep::run_chunked): no job and
// no wait for the slower thread's share between a product and its steps, and the epilogue reads 2
// adjacent lines of G per row and block instead of 4 lines 2 KiB apart. (W3 paired against the
// separate products, 2 threads: +2.8, +0.4, +2.6, +2.1%; 1 thread +4.9%.)
// Reference: PyTorch aten/src/ATen/native/RNN.cpp (pre-computed input projection, fused cell).
// Nothing is allocated here: every buffer is a region of the caller's workspace.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <type_traits>

#include "gates.h"
#include "gemm.h"
#include "lstm.h"
#include "lstm_recurrent.h"
#include "lstm_workspace.h"
#include "thread_pool.h"

namespace lstm {
namespace {

// Rows of the pointwise pass per thread below which splitting costs more than it saves.
inline int64_t rows_per_thread(int width) { return std::max<int64_t>(1, 8192 / std::max(width, 1)); }

template <typename F>
void copy_row(F* dst, const F* src, int n) { std::memcpy(dst, src, sizeof(F) * n); }

inline int env_int(const char* name, int dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : dflt;
}

// Short copies (<= 8 floats) inside the fast step: a loop, not a libc call.
inline void copy_short(float* dst, const float* src, int n) {
  for (int i = 0; i < n; ++i) dst[i] = src[i];
}

template <typename F>
void zero_row(F* dst, int n) { std::memset(dst, 0, sizeof(F) * n); }

template <typename F>
Status check_args(F* y, int ldy, F* ws, const F* x, const int32_t* lengths, const LstmParams<F>& p,
                  const LstmDims& d) {
  Status st = lstm_check(d, lengths);
  if (st != Status::Ok) return st;
  if (!y || !ws || !x || !p.W_ih || !p.W_hh || !p.b_ih || !p.b_hh || (d.P > 0 && !p.W_hr)) {
    return Status::NullPointer;
  }
  if (ldy < d.hout()) return Status::InvalidDims;
  return Status::Ok;
}

// G (rows, 4H) = x (rows, I) W_ih^T + b_ih + b_hh, or without the bias when the step adds it
// (with_bias false: rec::bias_in_step). packed_w_ih: W_ih^T packed by gemm_builtin_pack_b
// (float32 with the built-in GEMM only), else nullptr.
template <typename F>
void hoisted_input(F* G, size_t rows, const F* x, const LstmParams<F>& p, const LstmDims& d,
                   bool builtin, bool with_bias, const F* packed_w_ih = nullptr) {
  const int G4 = 4 * d.H, I = d.I;
  if (with_bias) {
    F* bias = G;
    for (int j = 0; j < G4; ++j) bias[j] = p.b_ih[j] + p.b_hh[j];
    parallel_for_min(static_cast<int64_t>(rows) - 1, rows_per_thread(G4), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) copy_row(G + (r + 1) * G4, bias, G4);
    });
  }
  const F beta = with_bias ? F(1) : F(0);
  if constexpr (std::is_same_v<F, float>) {
    if (packed_w_ih) {
      gemm_builtin_packed_b(Trans::No, Trans::Yes, static_cast<int>(rows), G4, I, 1.0f, x, I, p.W_ih, I,
                            packed_w_ih, beta, G, G4);
      return;
    }
  }
  if (builtin) {
    gemm_builtin<F>(Trans::No, Trans::Yes, static_cast<int>(rows), G4, I, F(1), x, I, p.W_ih, I, beta, G, G4);
  } else {
    gemm<F>(Trans::No, Trans::Yes, static_cast<int>(rows), G4, I, F(1), x, I, p.W_ih, I, beta, G, G4);
  }
}

// Pointers of one step.
template <typename F>
struct StepIo {
  int t;
  F* Gt;            // (B, 4H) pre-activations in, gates out
  const F* h_prev;  // (B, Hout)
  F* h_cur;         // (B, Hout)
  const F* c_prev;  // (B, H)
  F* c_cur;         // (B, H)
  F* tc;            // (B, H)
  F* hr;            // (B, H) when P > 0
  F* y;             // row (t, 0) of y
  const F* x;       // row (t, 0) of x (B, I), read by the fused-input fast step only
};

// Projection and the y rows after the cell (P > 0), shared by both paths.
template <typename F>
void projection_and_y(const StepIo<F>& s, int ldy, const int32_t* lengths, const LstmParams<F>& p,
                      const LstmDims& d, bool builtin) {
  const int B = d.B, H = d.H, P = d.P, Ho = d.hout();
  if (builtin) {
    gemm_builtin<F>(Trans::No, Trans::Yes, B, P, H, F(1), s.hr, H, p.W_hr, H, F(0), s.h_cur, P);
  } else {
    gemm<F>(Trans::No, Trans::Yes, B, P, H, F(1), s.hr, H, p.W_hr, H, F(0), s.h_cur, P);
  }
  for (int b = 0; b < B; ++b) {
    F* yr = s.y + static_cast<size_t>(b) * ldy;
    if (!lengths || s.t < lengths[b]) {
      copy_row(yr, s.h_cur + b * Ho, Ho);
    } else {
      copy_row(s.h_cur + b * Ho, s.h_prev + b * Ho, Ho);
      zero_row(yr, Ho);
    }
  }
}

// One step of the reference path.
template <typename F>
void reference_step(const StepIo<F>& s, int ldy, const int32_t* lengths, const LstmParams<F>& p,
                    const LstmDims& d, GatesForwardFn<F> gates) {
  const int B = d.B, H = d.H, P = d.P, Ho = d.hout(), G4 = 4 * H, t = s.t;
  gemm<F>(Trans::No, Trans::Yes, B, G4, Ho, F(1), s.h_prev, Ho, p.W_hh, Ho, F(1), s.Gt, G4);
  parallel_for_min(B, rows_per_thread(G4), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const bool active = !lengths || t < lengths[b];
      if (active) {
        F* h_out = P > 0 ? s.hr + b * H : s.h_cur + b * Ho;
        gates(s.Gt + b * G4, s.c_prev + b * H, s.c_cur + b * H, s.tc + b * H, h_out, H);
      } else {
        copy_row(s.c_cur + b * H, s.c_prev + b * H, H);
        if (P == 0) copy_row(s.h_cur + b * Ho, s.h_prev + b * Ho, Ho);
        // Kept finite so that backward's products with zero gradients stay zero.
        zero_row(s.Gt + b * G4, G4);
        zero_row(s.tc + b * H, H);
        if (P > 0) zero_row(s.hr + b * H, H);
      }
    }
  });
  if (P > 0) {
    projection_and_y(s, ldy, lengths, p, d, false);
  } else {
    for (int b = 0; b < B; ++b) {
      F* yr = s.y + static_cast<size_t>(b) * ldy;
      if (!lengths || t < lengths[b]) copy_row(yr, s.h_cur + b * Ho, Ho); else zero_row(yr, Ho);
    }
  }
}

// The fast float32 step (see the file comment).
class FastStep {
 public:
  // fused: the input product is folded into the step tile (rec::fuse_input; PK then also holds
  // packed W_ih and bias) and the steps' G_t are outputs only.
  // inference: nothing is kept for backward, so the fused epilogue skips the G and tanh(c) stores.
  // blocked_g: G holds each block of 8 units' 4 gates side by side (column jb * 32 + g * 8 + u),
  // rows of nb * 32 floats (run_chunked), instead of gate-major rows of 4H (column g * H + j).
  FastStep(const LstmParams<float>& p, const LstmDims& d, int ldy, const int32_t* lengths, float* pk,
           bool fused, bool inference = false, bool blocked_g = false)
      : k_(rec::rec_kernels()), gates_(gates_forward<float>()), p_(p), d_(d), ldy_(ldy),
        lengths_(lengths), B_(d.B), H_(d.H), Ho_(d.hout()), P_(d.P), G4_(4 * d.H), I_(d.I),
        nb_((d.H + rec::kUnits - 1) / rec::kUnits), gemv_(d.B == 1), fused_(fused && d.B > 1),
        inference_(inference), bias_in_step_(!fused_ && !gemv_),
        ldg_(blocked_g ? rec::blocked_cols(H_) : G4_), gate_stride_(blocked_g ? rec::kUnits : H_),
        block_cols_(blocked_g ? rec::kFwdCols : rec::kUnits), pk_(pk) {
    if (!gemv_) rec::pack_fwd(p.W_hh, H_, Ho_, pk_);
    if (fused_) {
      pki_ = pk_ + rec::packed_fwd_size(H_, Ho_);
      pkb_ = pki_ + rec::packed_fwd_size(H_, I_);
      rec::pack_fwd(p.W_ih, H_, I_, pki_);
      rec::pack_bias(p.b_ih, p.b_hh, H_, pkb_);
    } else if (bias_in_step_) {
      pkb_ = pk_ + rec::packed_fwd_size(H_, Ho_);
      rec::pack_bias(p.b_ih, p.b_hh, H_, pkb_);
    }
    const double flops = 2.0 * B_ * G4_ * (Ho_ + (fused_ ? I_ : 0));
    rows_split_ = !gemv_ && rec::split_rows(B_, H_, Ho_ + (fused_ ? I_ : 0));
    slices_ = rec::slice_count(rows_split_ ? (B_ + rec::kTileRows - 1) / rec::kTileRows : nb_, flops);
  }

  // One step. next: the step after this one when known (its rows are prefetched during this one).
  void run(const StepIo<float>& s, const StepIo<float>* next = nullptr) {
    auto fn = [&](int slice) { run_slice(slice, s, next); };
    rec::run_slices(slices_, fn);
    if (P_ > 0) projection_and_y(s, ldy_, lengths_, p_, d_, rec::lstm_use_builtin_gemm());
  }

  // Whether run_steps may run this layer: nothing between the steps (no projection GEMM).
  bool can_run_steps() const { return P_ == 0; }
  // Whether the step adds b_ih + b_hh (the hoisted product must then leave it out).
  bool bias_in_step() const { return bias_in_step_; }

  // Inference with the input product hoisted chunk by chunk inside the same pool job as the steps
  // (units split, blocked G): per chunk of tc steps, one step in which each thread computes the G
  // columns of its own unit blocks, hoist(k0, n, b0, b1) for the chunk's steps k0 .. k0 + n - 1,
  // then the chunk's n steps, io(k) giving step k's StepIo. The product's columns follow the
  // scheduler's cuts, so its threads finish together as the steps' do, and there is no job, and
  // no wait for the slowest thread's rows, between a chunk's product and its steps.
  template <class Hoist, class Io>
  void run_chunked(int steps, int tc, const Hoist& hoist, const Io& io) {
    const int chunks = (steps + tc - 1) / tc;
    auto fn = [&](int b0, int b1, int k) {
      const int c = k / (tc + 1), j = k % (tc + 1);  // chunk c's product, then its steps 1..n
      const int k0 = c * tc, n = std::min(tc, steps - k0);
      if (j == 0) {
        hoist(k0, n, b0, b1);
        return;
      }
      const StepIo<float> s = io(k0 + j - 1);
      if (j < n) {  // the next step of the same chunk (the next chunk's G is not computed yet)
        const StepIo<float> next = io(k0 + j);
        run_units(b0, b1, s, &next);
      } else {
        run_units(b0, b1, s, nullptr);
      }
    };
    rec::run_block_steps(nb_, slices_, steps + chunks, fn);
  }

  // Steps 0 .. steps-1, io(k) giving step k's StepIo, in one pool job. Only when nothing has to
  // happen between steps (can_run_steps; the input product hoisted).
  template <class Io>
  void run_steps(int steps, const Io& io) {
    // body(s, next) for step k: next is step k + 1's StepIo (its rows are prefetched), or null.
    auto at = [&](int k, auto&& body) {
      const StepIo<float> s = io(k);
      if (k + 1 < steps) {
        const StepIo<float> next = io(k + 1);
        body(s, &next);
      } else {
        body(s, nullptr);
      }
    };
    if (rows_split_) {
      // A range of batch rows depends only on its own rows: it runs every step on its own, with
      // no barrier between steps, and a thread that finishes early takes over half of a slower
      // thread's rows (run_row_steps). Paired against static halves (2 threads, this VM, where
      // one vCPU often runs 15-20% slower than the other for seconds): I 64 H 256 B 32 +3 to +7%,
      // H 128 +10%, I 256 H 256 B 128 T 50 +11%, B 16 +8%.
      auto rows = [&](int r0, int r1, int k) {
        at(k, [&](const StepIo<float>& s, const StepIo<float>* next) { run_rows(r0, r1, s, next); });
      };
      rec::run_row_steps(B_, slices_, steps, rec::kMinSplitRows, rows);
      return;
    }
    auto units = [&](int b0, int b1, int k) {
      at(k, [&](const StepIo<float>& s, const StepIo<float>* next) { run_units(b0, b1, s, next); });
    };
    rec::run_block_steps(nb_, slices_, steps, units);  // units: synchronised per step
  }

 private:
  static constexpr int kChunk = 48;  // at most this many rows per pass over a panel
  static constexpr int kGemvGroup = 16;  // batch-1 blocks per epilogue call

  // Rows [r0, r1) of every block (the rows split).
  void run_rows(int r0, int r1, const StepIo<float>& s, const StepIo<float>* next) const {
    for (int jb = 0; jb < nb_; ++jb) block(jb, nb_, s, next, r0, r1);
  }

  void run_slice(int slice, const StepIo<float>& s, const StepIo<float>* next) const {
    if (rows_split_) {
      run_rows(rec::even_cut(B_, slices_, slice), rec::even_cut(B_, slices_, slice + 1), s, next);
      return;
    }
    run_units(rec::even_cut(nb_, slices_, slice), rec::even_cut(nb_, slices_, slice + 1), s, next);
  }

  // The unit blocks [b0, b1) of every row (the units split).
  void run_units(int b0, int b1, const StepIo<float>& s, const StepIo<float>* next) const {
    if (gemv_ && k_.dot8 && k_.gates_fwd8 && (!lengths_ || s.t < lengths_[0])) {
      // Batch 1: the matrix-vector products of a group of blocks first, then one epilogue call
      // over the group, its blocks as independent "rows" (one block's cell alone is a chain of
      // dependent operations the CPU cannot overlap with anything).
      const int full_end = std::min(b1, H_ / rec::kUnits);  // blocks of 8 whole units
      for (int g0 = b0; g0 < full_end; g0 += kGemvGroup) {
        const int g1 = std::min(full_end, g0 + kGemvGroup);
        gemv_group(g0, g1, s);
      }
      for (int jb = std::max(b0, full_end); jb < b1; ++jb) block(jb, b1, s, next, 0, B_);
      return;
    }
    for (int jb = b0; jb < b1; ++jb) block(jb, b1, s, next, 0, B_);
  }

  // Batch 1, full blocks [g0, g1): acc[block][g*8 + u] = W_hh rows . h_prev, then the epilogue.
  void gemv_group(int g0, int g1, const StepIo<float>& s) const {
    const int H = H_, Ho = Ho_;
    alignas(64) float acc[kGemvGroup * rec::kFwdCols];
    for (int jb = g0; jb < g1; ++jb) {
      const int j0 = jb * rec::kUnits;
      for (int g = 0; g < 4; ++g) {
        k_.dot8(Ho, p_.W_hh + (static_cast<size_t>(g) * H + j0) * Ho, Ho, s.h_prev,
                acc + (jb - g0) * rec::kFwdCols + g * rec::kUnits);
      }
    }
    const int j0 = g0 * rec::kUnits, u = rec::kUnits;
    const bool proj = P_ > 0;
    k_.gates_fwd8(g1 - g0, acc, s.Gt + j0, u, H, s.c_prev + j0, s.c_cur + j0,
                  inference_ ? nullptr : s.tc + j0, u, (proj ? s.hr : s.h_cur) + j0, u,
                  proj ? nullptr : s.y + j0, u);
  }

  // Rows [b0, b1) of the epilogue of the block at unit j0 at the NEXT step: c, tanh c, h, y, and G
  // when the step writes it without reading it (the fused input product). The outputs are lines not
  // touched since the previous call: without this the epilogue waits on memory.
  void prefetch_rows(const StepIo<float>& s, int b0, int b1, int j0) const {
    const bool touch_g = fused_ && !inference_;  // fused inference: G neither read nor written
    for (int b = b0; b < b1; ++b) {
      const float* G = s.Gt + static_cast<size_t>(b) * ldg_ + gcol(j0);
      if (touch_g) for (int g = 0; g < 4; ++g) __builtin_prefetch(G + g * gate_stride_, 1, 3);
      const size_t bh = static_cast<size_t>(b) * H_ + j0;
      __builtin_prefetch(s.c_cur + bh, 1, 3);
      if (!inference_) __builtin_prefetch(s.tc + bh, 1, 3);
      if (P_ == 0) {
        __builtin_prefetch(s.h_cur + static_cast<size_t>(b) * Ho_ + j0, 1, 3);
        __builtin_prefetch(s.y + static_cast<size_t>(b) * ldy_ + j0, 1, 3);
      }
    }
  }

  // Rows [b0, b1) of the hoisted pre-activations G the epilogue of the block at unit j0 reads at
  // THIS step, into L2 (the tiles of the block before it are still running). The hoisted product
  // wrote G a chunk of steps earlier, so it sits in L3 or memory, in 4 lines per row 2 KiB apart
  // that no hardware prefetcher follows. One step ahead was too far for large steps: at I = H = 512
  // a thread streams 2-4 MiB of weights per step, which flushes L1 and L2 before the lines are read
  // (W3 step, 1 thread: 54 GFLOP/s with the next step's G prefetched, 57.5 with this; 59 with G hot.
  // Paired, 2 threads: W3 inference +3.4 to +4.3% in 3 runs, I 256 H 256 B 128 T 50 +12.5%.)
  void prefetch_g(const StepIo<float>& s, int b0, int b1, int j0) const {
    for (int b = b0; b < b1; ++b) {
      const float* G = s.Gt + static_cast<size_t>(b) * ldg_ + gcol(j0);
      for (int g = 0; g < 4; ++g) __builtin_prefetch(G + g * gate_stride_, 0, 2);
    }
  }

  // G's column of unit j0 (a multiple of kUnits) of gate 0; gate g is g * gate_stride_ further.
  size_t gcol(int j0) const { return static_cast<size_t>(j0 / rec::kUnits) * block_cols_; }

  // Rows [rb0, rb1) of the block of units jb; this thread runs the blocks up to jb_end next.
  void block(int jb, int jb_end, const StepIo<float>& s, const StepIo<float>* next, int rb0, int rb1) const {
    const int H = H_, Ho = Ho_, t = s.t;
    const ptrdiff_t ldg = ldg_, gs = gate_stride_;
    const int j0 = jb * rec::kUnits, nu = std::min(rec::kUnits, H - j0);
    const float* panel = pk_ + static_cast<size_t>(jb) * rec::kFwdCols * Ho;
    alignas(64) float acc[kChunk * rec::kFwdCols];
    alignas(64) float a[rec::kFwdCols];
    // Chunks and tiles of equal size (rec::for_even_parts): the same bits however rows are split.
    rec::for_even_parts(rb0, rb1, kChunk, [&](int r0, int r1) {
      if (gemv_) {
        for (int g = 0; g < 4; ++g) {
          const float* rows = p_.W_hh + (static_cast<size_t>(g) * H + j0) * Ho;
          if (k_.dot8 && nu == rec::kUnits) {
            k_.dot8(Ho, rows, Ho, s.h_prev, acc + g * rec::kUnits);
          } else {
            k_.dot_rows(nu, Ho, rows, Ho, s.h_prev, acc + g * rec::kUnits);
          }
        }
      } else {
        for (int half = 0; half < 2; ++half) {
          rec::for_even_parts(r0, r1, rec::kTileRows, [&](int r, int r_end) {
            const int mr = r_end - r;
            if (half == 0 && next) prefetch_rows(*next, r, r + mr, j0);
            if (half == 0 && !fused_ && jb + 1 < jb_end) prefetch_g(s, r, r + mr, j0 + rec::kUnits);
            float* ar = acc + (r - r0) * rec::kFwdCols + 16 * half;
            const float* hp = panel + static_cast<size_t>(half) * rec::kHalfCols * Ho;
            if (fused_) {
              const float* ip = pki_ + (static_cast<size_t>(jb) * 2 + half) * rec::kHalfCols * I_;
              k_.tile16x2(I_, s.x + static_cast<size_t>(r) * I_, I_, ip, Ho,
                          s.h_prev + static_cast<size_t>(r) * Ho, Ho, hp, rec::kHalfCols,
                          pkb_ + jb * rec::kFwdCols + 16 * half, mr, ar, rec::kFwdCols);
            } else {
              // The accumulators start from the bias (no input part: K1 = 0).
              k_.tile16x2(0, nullptr, 0, nullptr, Ho, s.h_prev + static_cast<size_t>(r) * Ho, Ho, hp,
                          rec::kHalfCols, pkb_ + jb * rec::kFwdCols + 16 * half, mr, ar, rec::kFwdCols);
            }
          });
        }
      }
      int b = r0;
      const rec::GatesFwd8Fn fwd8 = fused_ ? k_.gates_fwd8_acc : k_.gates_fwd8;
      if (fwd8 && nu == rec::kUnits) {
        // The leading run of active rows through the fused epilogue; any rest below, row by row.
        int e = b;
        while (e < r1 && (!lengths_ || t < lengths_[e])) ++e;
        if (e > b) {
          const size_t bh = static_cast<size_t>(b) * H + j0;
          const bool proj = P_ > 0;
          fwd8(e - b, acc + (b - r0) * rec::kFwdCols,
               s.Gt + static_cast<size_t>(b) * ldg + gcol(j0), ldg, static_cast<int>(gs),
               s.c_prev + bh, s.c_cur + bh, inference_ ? nullptr : s.tc + bh, H,
               proj ? s.hr + bh : s.h_cur + static_cast<size_t>(b) * Ho + j0, proj ? H : Ho,
               proj ? nullptr : s.y + static_cast<size_t>(b) * ldy_ + j0, ldy_);
          b = e;
        }
      }
      for (; b < r1; ++b) {
        float* G = s.Gt + static_cast<size_t>(b) * ldg + gcol(j0);  // this block's gate 0
        const size_t bh = static_cast<size_t>(b) * H + j0;
        const size_t bo = static_cast<size_t>(b) * Ho + j0;
        float* yr = s.y + static_cast<size_t>(b) * ldy_ + j0;
        if (!lengths_ || t < lengths_[b]) {
          const float* sr = acc + (b - r0) * rec::kFwdCols;
          for (int g = 0; g < 4; ++g) {
            for (int u = 0; u < nu; ++u) {
              const float acc_gu = sr[g * rec::kUnits + u];
              a[g * nu + u] = fused_ ? acc_gu : G[g * gs + u] + acc_gu;
            }
          }
          float* h_out = P_ > 0 ? s.hr + bh : s.h_cur + bo;
          gates_(a, s.c_prev + bh, s.c_cur + bh, s.tc + bh, h_out, nu);
          for (int g = 0; g < 4; ++g) copy_short(G + g * gs, a + g * nu, nu);
          if (P_ == 0) copy_short(yr, h_out, nu);
        } else {
          copy_row(s.c_cur + bh, s.c_prev + bh, nu);
          for (int g = 0; g < 4; ++g) zero_row(G + g * gs, nu);
          zero_row(s.tc + bh, nu);
          if (P_ > 0) {
            zero_row(s.hr + bh, nu);
          } else {
            copy_row(s.h_cur + bo, s.h_prev + bo, nu);
            zero_row(yr, nu);
          }
        }
      }
    });
  }

  const rec::RecKernels& k_;
  const GatesForwardFn<float> gates_;
  const LstmParams<float>& p_;
  const LstmDims& d_;
  const int ldy_;
  const int32_t* lengths_;
  const int B_, H_, Ho_, P_, G4_, I_, nb_;
  const bool gemv_, fused_, inference_;
  // The tile starts from the packed bias (rec::bias_in_step: G holds x W_ih^T alone).
  const bool bias_in_step_;
  // G's layout: row stride, gate stride, and columns per block of kUnits units (gcol).
  const int ldg_, gate_stride_, block_cols_;
  bool rows_split_ = false;  // slices are batch rows (all units), not units (all rows)
  float* pk_;
  float* pki_ = nullptr;  // packed W_ih (fused)
  float* pkb_ = nullptr;  // packed bias (fused)
  int slices_ = 1;
};

template <typename F>
constexpr bool use_fast() {
  return std::is_same_v<F, float>;
}

// The whole-sequence forward (training layout) with either step.
template <typename F>
Status forward_impl(bool fast, F* y, int ldy, F* hn, F* cn, F* ws, const F* x, const F* h0,
                    const F* c0, const int32_t* lengths, const LstmParams<F>& p, const LstmDims& d) {
  Status st = check_args(y, ldy, ws, x, lengths, p, d);
  if (st != Status::Ok) return st;
  const PoolBurst burst;  // many pool jobs back to back: no thread sleeps between them
  const int T = d.T, B = d.B, H = d.H, Ho = d.hout(), G4 = 4 * H;
  LstmWorkspaceLayout L;
  lstm_workspace_layout(d, &L);
  F* G = ws + L.G;    // (T, B, 4H)
  F* HS = ws + L.HS;  // (T+1, B, Hout)
  F* CS = ws + L.CS;  // (T+1, B, H)
  F* TC = ws + L.TC;  // (T, B, H)
  F* HR = ws + L.HR;  // (T, B, H) when P > 0

  // The fast path computes the hoisted product in chunks of tc steps just before they run, so
  // each G_t is still in cache when its step reads it (one product over all T leaves the early
  // steps' rows in memory by the time they are used).
  // 4 steps when G is too big to stay in cache across the call but 4 steps of it are not
  // (measured on W1: B 32, H 256; larger per-step products, e.g. I = H = 512 with B = 64, lose
  // more in the smaller GEMMs than they gain). LSTM_NATIVE_LSTM_HOIST_STEPS overrides.
  const size_t step_bytes = sizeof(F) * static_cast<size_t>(B) * G4;
  const int tc_auto = step_bytes * T > (size_t{1} << 20) && step_bytes * 4 <= (size_t{1} << 19) ? 4 : T;
  const int tc = fast ? std::max(1, env_int("LSTM_NATIVE_LSTM_HOIST_STEPS", tc_auto)) : T;
  const bool fused = fast && use_fast<F>() && rec::fuse_input(B, d.I, H, Ho);
  std::optional<FastStep> step;
  if constexpr (use_fast<F>()) {
    if (fast) step.emplace(p, d, ldy, lengths, ws + L.PK, fused);
  }
  auto hoist = [&](int k0) {  // the chunk of steps k0 .. k0 + tc - 1 (in processing order)
    const int n = std::min(tc, T - k0);
    const int tlo = d.reverse ? T - k0 - n : k0;
    hoisted_input(G + static_cast<size_t>(tlo) * B * G4, static_cast<size_t>(n) * B,
                  x + static_cast<size_t>(tlo) * B * d.I, p, d, fast && rec::lstm_use_builtin_gemm(),
                  /*with_bias=*/!(step && step->bias_in_step()));
  };
  if (!fused && (!fast || tc >= T)) {
    hoist(0);
  }

  const int first = d.reverse ? T : 0;
  F* hs0 = HS + static_cast<size_t>(first) * B * Ho;
  F* cs0 = CS + static_cast<size_t>(first) * B * H;
  if (h0) std::memcpy(hs0, h0, sizeof(F) * B * Ho); else zero_row(hs0, B * Ho);
  if (c0) std::memcpy(cs0, c0, sizeof(F) * B * H); else zero_row(cs0, B * H);

  auto io = [&](int k) {
    const int t = d.reverse ? T - 1 - k : k;
    const int prev = d.reverse ? t + 1 : t;
    const int cur = d.reverse ? t : t + 1;
    return StepIo<F>{t,
                     G + static_cast<size_t>(t) * B * G4,
                     HS + static_cast<size_t>(prev) * B * Ho,
                     HS + static_cast<size_t>(cur) * B * Ho,
                     CS + static_cast<size_t>(prev) * B * H,
                     CS + static_cast<size_t>(cur) * B * H,
                     TC + static_cast<size_t>(t) * B * H,
                     HR + static_cast<size_t>(t) * B * H,
                     y + static_cast<size_t>(t) * B * ldy,
                     x + static_cast<size_t>(t) * B * d.I};
  };
  if constexpr (use_fast<F>()) {
    if (fast) {
      if (step->can_run_steps() && (fused || tc >= T)) {
        step->run_steps(T, io);  // nothing between the steps: one pool job for all of them
      } else {
        StepIo<F> cur = io(0);
        for (int k = 0; k < T; ++k) {
          if (!fused && tc < T && k % tc == 0) hoist(k);
          const StepIo<F> next = io(std::min(k + 1, T - 1));
          step->run(cur, k + 1 < T ? &next : nullptr);
          cur = next;
        }
      }
    }
  }
  if (!use_fast<F>() || !fast) {
    const GatesForwardFn<F> gates = gates_forward<F>();
    for (int k = 0; k < T; ++k) reference_step(io(k), ldy, lengths, p, d, gates);
  }

  const int last = d.reverse ? 0 : T;
  if (hn) std::memcpy(hn, HS + static_cast<size_t>(last) * B * Ho, sizeof(F) * B * Ho);
  if (cn) std::memcpy(cn, CS + static_cast<size_t>(last) * B * H, sizeof(F) * B * H);
  return Status::Ok;
}

}  // namespace

template <typename F>
Status lstm_forward_reference(F* y, int ldy, F* hn, F* cn, F* ws, const F* x, const F* h0,
                              const F* c0, const int32_t* lengths, const LstmParams<F>& p,
                              const LstmDims& d) {
  return forward_impl<F>(false, y, ldy, hn, cn, ws, x, h0, c0, lengths, p, d);
}

template <typename F>
Status lstm_forward(F* y, int ldy, F* hn, F* cn, F* ws, const F* x, const F* h0, const F* c0,
                    const int32_t* lengths, const LstmParams<F>& p, const LstmDims& d) {
  return forward_impl<F>(use_fast<F>() && rec::fast_path_enabled(), y, ldy, hn, cn, ws, x, h0, c0,
                         lengths, p, d);
}

// Step k (time t) of lstm_forward_inference with pre-activations Gt: h and c ping-pong between
// two slots (step k reads slot k & 1 and writes the other), TC and HR are one block of rows
// rewritten every step, and y and x are the rows of time t.
template <typename F>
StepIo<F> inference_step_io(int k, int t, F* Gt, F* ws, const LstmInferenceLayout& L,
                            const LstmDims& d, F* y, int ldy, const F* x) {
  const size_t B = d.B, H = d.H, Ho = d.hout(), cur = k & 1, nxt = (k + 1) & 1;
  F* HS = ws + L.HS;
  F* CS = ws + L.CS;
  return StepIo<F>{t,
                   Gt,
                   HS + cur * B * Ho,
                   HS + nxt * B * Ho,
                   CS + cur * B * H,
                   CS + nxt * B * H,
                   ws + L.TC,
                   ws + L.HR,
                   y + static_cast<size_t>(t) * B * ldy,
                   x + static_cast<size_t>(t) * B * d.I};
}

// lstm_forward_inference's fast path with each chunk's input product inside the steps' pool job
// (FastStep::run_chunked): W_ih^T packed once with each block of 8 units' 4 gates side by side
// (G's column j is W_ih's row rec::blocked_gate_row(H, j)), and each thread computing the
// columns of its own unit blocks. h0 / c0 are already in HS[0] / CS[0].
void chunks_in_steps(FastStep& step, float* y, int ldy, float* hn, float* cn, float* ws,
                     const float* x, const LstmParams<float>& p, const LstmDims& d,
                     const LstmInferenceLayout& L) {
  const int T = d.T, B = d.B, I = d.I, H = d.H, Ho = d.hout(), Tc = L.Tc;
  const int ldg = rec::blocked_cols(H);
  float* G = ws + L.G;    // (Tc, B, ldg)
  float* HS = ws + L.HS;  // (2, B, Hout)
  float* CS = ws + L.CS;  // (2, B, H)
  float* packed_w_ih = ws + L.PKI;
  if (gemm_builtin_packed_b_col_align() == rec::kHalfCols) {
    // A panel of 16 columns is a half panel of the step's layout: rec's 16-row packer.
    struct Src {
      const float* W;
      int H, I;
    } src{p.W_ih, H, I};
    auto fill = [](void* c, int j0, int p0, int kc, float* panel) {
      const Src& s = *static_cast<const Src*>(c);
      const float* rows[rec::kHalfCols];
      rec::half_panel_rows(s.W, s.H, s.I, j0 / rec::kFwdCols, j0 % rec::kFwdCols / rec::kHalfCols,
                           p0, rows);
      rec::rec_kernels().pack16(kc, rows, panel);
    };
    gemm_builtin_pack_b_panels(ldg, I, packed_w_ih, fill, &src);
  } else {
    auto w_ih_row = [](void* ctx, int j) {
      return rec::blocked_gate_row(*static_cast<const int*>(ctx), j);
    };
    int h_ctx = H;
    gemm_builtin_pack_b_rows(ldg, I, p.W_ih, I, w_ih_row, &h_ctx, packed_w_ih);
  }
  // The chunk of steps k0 .. k0 + n - 1 covers times [tlo, tlo + n); columns of blocks [b0, b1).
  auto hoist = [&](int k0, int n, int b0, int b1) {
    const int tlo = d.reverse ? T - k0 - n : k0;
    gemm_builtin_packed_b_cols(n * B, ldg, I, x + static_cast<size_t>(tlo) * B * I, I, packed_w_ih,
                               b0 * rec::kFwdCols, b1 * rec::kFwdCols, 0.0f, G, ldg);
  };
  auto io = [&](int k) {
    const int t = d.reverse ? T - 1 - k : k;
    const int k0 = k / Tc * Tc, n = std::min(Tc, T - k0);
    const int tlo = d.reverse ? T - k0 - n : k0;
    return inference_step_io(k, t, G + static_cast<size_t>(t - tlo) * B * ldg, ws, L, d, y, ldy, x);
  };
  step.run_chunked(T, Tc, hoist, io);
  if (hn) std::memcpy(hn, HS + static_cast<size_t>(T & 1) * B * Ho, sizeof(float) * B * Ho);
  if (cn) std::memcpy(cn, CS + static_cast<size_t>(T & 1) * B * H, sizeof(float) * B * H);
}

template <typename F>
Status lstm_forward_inference(F* y, int ldy, F* hn, F* cn, F* ws, const F* x, const F* h0,
                              const F* c0, const int32_t* lengths, const LstmParams<F>& p,
                              const LstmDims& d) {
  Status st = check_args(y, ldy, ws, x, lengths, p, d);
  if (st != Status::Ok) return st;
  const PoolBurst burst;  // many pool jobs back to back: no thread sleeps between them
  const int T = d.T, B = d.B, I = d.I, H = d.H, Ho = d.hout(), G4 = 4 * H;
  LstmInferenceLayout L;
  lstm_inference_layout(d, &L);
  F* G = ws + L.G;    // (Tc, B, 4H)
  F* HS = ws + L.HS;  // (2, B, Hout)
  F* CS = ws + L.CS;  // (2, B, H)
  const bool fast = use_fast<F>() && rec::fast_path_enabled();
  const bool fused = fast && rec::fuse_input(B, I, H, Ho);
  if (h0) std::memcpy(HS, h0, sizeof(F) * B * Ho); else zero_row(HS, B * Ho);
  if (c0) std::memcpy(CS, c0, sizeof(F) * B * H); else zero_row(CS, B * H);

  const GatesForwardFn<F> gates = gates_forward<F>();
  const bool builtin = fast && rec::lstm_use_builtin_gemm();
  std::optional<FastStep> step;
  if constexpr (use_fast<F>()) {
    if (fast) {
      // Several chunks against one packed W_ih^T (input_prepacked: not fused) and the steps
      // split by hidden units: each chunk's product runs inside the steps' pool job, into a
      // blocked G (FastStep::run_chunked).
      const bool in_steps = builtin && L.input_prepacked && d.P == 0 && B > 1 &&
                            !rec::split_rows(B, H, Ho) &&
                            rec::kFwdCols % gemm_builtin_packed_b_col_align() == 0;
      step.emplace(p, d, ldy, lengths, ws + L.PK, fused, /*inference=*/true, in_steps);
      if (in_steps) {
        chunks_in_steps(*step, y, ldy, hn, cn, ws, x, p, d, L);
        return Status::Ok;
      }
    }
  }
  F* packed_w_ih = nullptr;  // W_ih^T packed once for every chunk's product
  if constexpr (std::is_same_v<F, float>) {
    if (builtin && L.input_prepacked) {  // input_prepacked: more than one chunk, input not fused
      packed_w_ih = ws + L.PKI;
      gemm_builtin_pack_b(Trans::Yes, G4, I, p.W_ih, I, packed_w_ih);
    }
  }
  for (int k0 = 0; k0 < T; k0 += L.Tc) {
    const int n = std::min(L.Tc, T - k0);
    const int tlo = d.reverse ? T - k0 - n : k0;  // the chunk covers times [tlo, tlo + n)
    if (!fused) {
      hoisted_input(G, static_cast<size_t>(n) * B, x + static_cast<size_t>(tlo) * B * I, p, d,
                    builtin, /*with_bias=*/!(step && step->bias_in_step()), packed_w_ih);
    }
    // Step k of this chunk (G of the chunk's own rows: valid for k in [k0, k0 + n)).
    auto io = [&, k0, n, tlo](int k) {
      const int t = d.reverse ? T - 1 - k : k;
      const int tg = std::min(std::max(t - tlo, 0), n - 1);  // a step of the next chunk: never read
      return inference_step_io(k, t, G + static_cast<size_t>(tg) * B * G4, ws, L, d, y, ldy, x);
    };
    if constexpr (use_fast<F>()) {
      // Nothing between the steps: with no hoisted product (fused) all steps in one pool job,
      // else each chunk's steps in one (its G is complete; the next chunk's product waits for all
      // of them; a chunk of all T steps is the whole sequence in one job).
      if (fast && step->can_run_steps()) {
        if (fused) {
          step->run_steps(T, io);
          break;
        }
        auto chunk_io = [&](int j) { return io(k0 + j); };
        step->run_steps(n, chunk_io);
        continue;
      }
    }
    for (int k = k0; k < k0 + n; ++k) {
      const StepIo<F> s = io(k);
      if constexpr (use_fast<F>()) {
        if (fast) {
          // The next step's rows (y above all: fresh output memory) are prefetched during this
          // one; across a chunk boundary only when G is not read (fused), as the next chunk's G
          // is not computed yet.
          const bool has_next = k + 1 < k0 + n || (fused && k + 1 < T);
          const StepIo<F> next = io(has_next ? k + 1 : k);
          step->run(s, has_next ? &next : nullptr);
          continue;
        }
      }
      reference_step(s, ldy, lengths, p, d, gates);
    }
  }
  if (hn) std::memcpy(hn, HS + static_cast<size_t>(T & 1) * B * Ho, sizeof(F) * B * Ho);
  if (cn) std::memcpy(cn, CS + static_cast<size_t>(T & 1) * B * H, sizeof(F) * B * H);
  return Status::Ok;
}

#define LSTM_FORWARD_INSTANTIATE(NAME, F)                                                       \
  template Status NAME<F>(F*, int, F*, F*, F*, const F*, const F*, const F*, const int32_t*,  \
                          const LstmParams<F>&, const LstmDims&);
LSTM_FORWARD_INSTANTIATE(lstm_forward, float)
LSTM_FORWARD_INSTANTIATE(lstm_forward, double)
LSTM_FORWARD_INSTANTIATE(lstm_forward_reference, float)
LSTM_FORWARD_INSTANTIATE(lstm_forward_reference, double)
LSTM_FORWARD_INSTANTIATE(lstm_forward_inference, float)
LSTM_FORWARD_INSTANTIATE(lstm_forward_inference, double)
#undef LSTM_FORWARD_INSTANTIATE

}  // namespace lstm
