// The workspace formula: the one place that says how big the LSTM workspace is and where each
// region sits (the layout is documented in lstm.h). Exported to TS through lstmWorkspaceSize.
#include "lstm_workspace.h"

#include <algorithm>
#include <cstdint>

#include "gemm.h"
#include "lstm_recurrent.h"

namespace lstm {
namespace {

// a * b, false on overflow.
bool mul(size_t a, size_t b, size_t* out) { return !__builtin_mul_overflow(a, b, out); }
bool add(size_t a, size_t b, size_t* out) { return !__builtin_add_overflow(a, b, out); }

// The forward's packed weights: W_hh, plus W_ih and the bias when the input product is fused, or
// the bias alone when the step adds it (rec::bias_in_step).
size_t packed_fwd_total(const LstmDims& d) {
  size_t n = rec::packed_fwd_size(d.H, d.hout());
  if (rec::fuse_input(d.B, d.I, d.H, d.hout())) n += rec::packed_in_size(d.H, d.I);
  else if (rec::bias_in_step(d.B, d.I, d.H, d.hout())) n += rec::packed_bias_size(d.H);
  return n;
}

}  // namespace

bool lstm_workspace_layout(const LstmDims& d, LstmWorkspaceLayout* L) {
  if (d.T < 1 || d.B < 1 || d.I < 1 || d.H < 1 || d.P < 0) return false;
  const size_t T = d.T, B = d.B, H = d.H, P = d.P, Ho = d.hout();
  size_t tb, tb4h, tbh, t1bho, t1bh, tbp, n;
  if (!mul(T, B, &tb) || !mul(tb, 4 * H, &tb4h) || !mul(tb, H, &tbh) || !mul(tb, P, &tbp)) return false;
  if (!mul(T + 1, B * Ho, &t1bho) || !mul(T + 1, B * H, &t1bh)) return false;
  size_t at = 0;
  // Each region is placed at `at`, then `at` moves past it; every step is overflow-checked.
  auto place = [&](size_t* off, size_t size) {
    *off = at;
    return add(at, size, &at);
  };
  bool ok = place(&L->G, tb4h) && place(&L->HS, t1bho) && place(&L->CS, t1bh) && place(&L->TC, tbh) &&
            place(&L->HR, P > 0 ? tbh : 0);
  L->forward_size = at;
  ok = ok && place(&L->dG, tb4h) && place(&L->dHP, tbp) && place(&L->dh, B * Ho) && place(&L->dc, B * H) &&
       place(&L->dhr, B * H) && place(&L->dht, B * Ho) && place(&L->db, 4 * H) &&
       place(&L->PK, std::max(packed_fwd_total(d), rec::packed_bwd_size(d.H, d.hout())));
  L->total_size = at;
  // GEMM dimensions and leading dimensions are int: every matrix the kernel hands to a GEMM must
  // have fewer than 2^31 elements (x (T*B, I) too), which also keeps byte sizes far from overflow.
  const size_t limit = static_cast<size_t>(INT32_MAX);
  size_t tbi;
  return ok && mul(tb, static_cast<size_t>(d.I), &tbi) && tbi <= limit && tb4h <= limit &&
         t1bho <= limit && t1bh <= limit && mul(at, sizeof(double), &n);
}

bool lstm_inference_layout(const LstmDims& d, LstmInferenceLayout* L) {
  LstmWorkspaceLayout full;  // same validity and int-range checks as the training layout
  if (!lstm_workspace_layout(d, &full)) return false;
  const size_t B = d.B, H = d.H, P = d.P, Ho = d.hout();
  // Chunk of time steps for the hoisted input product: ~2 M floats (8 MiB) of pre-activations,
  // at least one step. Enough rows (Tc * B) for the product to run at full rate, and few products
  // per layer (each pays its packing of x and its threads' uneven finish); the step prefetches
  // each block's G rows one block ahead (lstm_step.cc), so a chunk need not stay in L2.
  const size_t row = B * 4 * H;
  const size_t tc = std::max<size_t>(1, (size_t{2} << 20) / row);
  L->Tc = static_cast<int>(std::min<size_t>(tc, static_cast<size_t>(d.T)));
  size_t at = 0;
  auto place = [&](size_t* off, size_t size) {
    *off = at;
    return add(at, size, &at);
  };
  // With more than one chunk, W_ih^T is packed once for all of their products rather than by each. Sized for float32 (the fast path);
  // a float64 call leaves it unused.
  L->input_prepacked = L->Tc < d.T && !rec::fuse_input(d.B, d.I, d.H, Ho);
  // Prepacked, the product may also write G with each block of 8 units' 4 gates side by side
  // (lstm_forward_inference), in rows of ceil(H/8)*32 floats, never fewer than 4H: room for
  // either layout.
  L->ldg_max = L->input_prepacked ? rec::blocked_cols(d.H) : static_cast<int>(4 * H);
  const size_t pki = L->input_prepacked ? gemm_builtin_packed_b_size(L->ldg_max, d.I) : 0;
  size_t g;
  bool ok = mul(static_cast<size_t>(L->Tc), B * static_cast<size_t>(L->ldg_max), &g) && place(&L->G, g) && place(&L->HS, 2 * B * Ho) &&
            place(&L->CS, 2 * B * H) && place(&L->TC, B * H) && place(&L->HR, P > 0 ? B * H : 0) &&
            place(&L->PK, packed_fwd_total(d)) && place(&L->PKI, pki);
  L->total_size = at;
  return ok;
}

size_t lstm_workspace_inference_size(const LstmDims& d) {
  LstmInferenceLayout L;
  return lstm_inference_layout(d, &L) ? L.total_size : 0;
}

size_t lstm_workspace_size(const LstmDims& d) {
  LstmWorkspaceLayout L;
  return lstm_workspace_layout(d, &L) ? L.total_size : 0;
}

size_t lstm_workspace_forward_size(const LstmDims& d) {
  LstmWorkspaceLayout L;
  return lstm_workspace_layout(d, &L) ? L.forward_size : 0;
}

Status lstm_check(const LstmDims& d, const int32_t* lengths) {
  LstmWorkspaceLayout L;
  if (!lstm_workspace_layout(d, &L)) return Status::InvalidDims;
  if (lengths) {
    for (int b = 0; b < d.B; ++b) {
      if (lengths[b] < 0 || lengths[b] > d.T) return Status::InvalidLength;
    }
  }
  return Status::Ok;
}

}  // namespace lstm
