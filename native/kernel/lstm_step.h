// The fast float32 LSTM step (FastStep): the per-step recurrent product and the fused gate
// epilogue on packed weights, and the ways to drive it over a sequence (one step, all steps in
// one pool job, chunks of steps with their input product). Used by lstm_train_forward.cc,
// lstm_inference.cc and lstm_inference_chunked.cc; the formulas are the reference's
// (lstm_reference.cc), in another order.
//
// How a step runs:
//   - W_hh is packed once per call into panels of 8 hidden units x 4 gates (lstm_recurrent.h).
//   - Per step ONE parallel region (and when nothing happens between steps, i.e. no hoisted chunk
//     and no projection, one pool job for ALL steps). The slices are batch rows when each thread
//     gets 8 rows or more and the weights are not too big to stream in full (rec::split_rows):
//     each thread runs all units of its rows through every step with no barrier, and a thread
//     that runs out of rows takes half of another's from its next step on (rec::run_row_steps),
//     so a slower core does not hold up the call. Otherwise unit blocks, synchronised per step by
//     rec::run_block_steps: each thread takes the same range of unit blocks at every step (its
//     weights stay in its L2), with cuts that move towards equal times when one thread runs
//     slower.
//   - A thread computes h_{t-1} x panel for its rows in 6x16 register tiles (rec_kernels().tile16x2),
//     adds the hoisted pre-activations and runs the gate math (rec_kernels().gates_fwd8, the add
//     and gates.h's formulas fused over the rows of a block of 8 units; else the gates.h function
//     on a copy) on the tile while it is in L1, writing gates, c, tanh(c), h and the y row of those
//     units directly. The rows the next step's epilogue will write are prefetched during the
//     tiles, and the hoisted G rows the next block's epilogue reads at this step.
//   - Batch 1: a dot-product GEMV on the unpacked W_hh (no packing cost; the threads split the
//     rows), 8 rows per kernel call, then one epilogue call over a group of blocks (independent
//     cells, so their latencies overlap).
//   - Fused input (rec::fuse_input): no hoisted product; W_ih and the bias are packed like W_hh
//     and each step tile computes bias + x_t W_ih^T + h_{t-1} W_hh^T in one set of accumulators;
//     the epilogue takes the pre-activations from the tile alone and still writes G_t (the gates)
//     for backward.
//   - The projection (P > 0) stays one GEMM per step after the region.
// Every row of a step gets the same bits however the rows or units are cut among threads
// (rec::for_even_parts), so the schedulers' moving cuts never change a result.
#pragma once

#include <algorithm>
#include <cstdint>

#include "gates.h"
#include "lstm.h"
#include "lstm_forward_parts.h"
#include "lstm_recurrent.h"

namespace lstm {

class FastStep {
 public:
  // fused: the input product is folded into the step tile (rec::fuse_input; PK then also holds
  // packed W_ih and bias) and the steps' G_t are outputs only.
  // inference: nothing is kept for backward, so the fused epilogue skips the G and tanh(c) stores.
  // blocked_g: G holds each block of 8 units' 4 gates side by side (column jb * 32 + g * 8 + u),
  // rows of nb * 32 floats (run_chunked), instead of gate-major rows of 4H (column g * H + j).
  FastStep(const LstmParams<float>& p, const LstmDims& d, int ldy, const int32_t* lengths, float* pk,
           bool fused, bool inference = false, bool blocked_g = false);

  // One step. next: the step after this one when known (its rows are prefetched during this one).
  void run(const StepIo<float>& s, const StepIo<float>* next = nullptr);

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
      // thread's rows (run_row_steps), so a core that runs slower for a while does not hold up
      // the call.
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
  void run_rows(int r0, int r1, const StepIo<float>& s, const StepIo<float>* next) const;

  void run_slice(int slice, const StepIo<float>& s, const StepIo<float>* next) const;

  // The unit blocks [b0, b1) of every row (the units split).
  void run_units(int b0, int b1, const StepIo<float>& s, const StepIo<float>* next) const;

  // Batch 1, full blocks [g0, g1): acc[block][g*8 + u] = W_hh rows . h_prev, then the epilogue.
  void gemv_group(int g0, int g1, const StepIo<float>& s) const;

  // Rows [b0, b1) of the epilogue of the block at unit j0 at the NEXT step: c, tanh c, h, y, and G
  // when the step writes it without reading it (the fused input product). The outputs are lines not
  // touched since the previous call: without this the epilogue waits on memory.
  void prefetch_rows(const StepIo<float>& s, int b0, int b1, int j0) const;

  // Rows [b0, b1) of the hoisted pre-activations G the epilogue of the block at unit j0 reads at
  // THIS step, into L2 (the tiles of the block before it are still running). The hoisted product
  // wrote G a chunk of steps earlier, so it sits in L3 or memory, in 4 lines per row 2 KiB apart
  // that no hardware prefetcher follows. Not a whole step ahead: with large weights (I = H = 512)
  // a thread streams megabytes of weights per step, which would flush L1 and L2 before the
  // prefetched lines are read.
  void prefetch_g(const StepIo<float>& s, int b0, int b1, int j0) const;

  // G's column of unit j0 (a multiple of kUnits) of gate 0; gate g is g * gate_stride_ further.
  size_t gcol(int j0) const { return static_cast<size_t>(j0 / rec::kUnits) * block_cols_; }

  // Rows [rb0, rb1) of the block of units jb; this thread runs the blocks up to jb_end next.
  void block(int jb, int jb_end, const StepIo<float>& s, const StepIo<float>* next, int rb0,
             int rb1) const;

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
// lstm_forward_inference's fast path with each chunk of L.Tc steps' input product run inside the
// steps' pool job (lstm_inference_chunked.cc). step: built with inference and blocked_g; h0 and
// c0 already in the workspace's HS[0] / CS[0]. Writes y, hn, cn as lstm_forward_inference.
void inference_chunks_in_steps(FastStep& step, float* y, int ldy, float* hn, float* cn, float* ws,
                               const float* x, const LstmParams<float>& p, const LstmDims& d,
                               const LstmInferenceLayout& L);

}  // namespace lstm
