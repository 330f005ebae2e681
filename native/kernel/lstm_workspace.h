// Offsets (in elements) of each workspace region; see the layout comment in lstm.h.
#pragma once

#include <cstddef>

#include "lstm.h"

namespace lstm {

struct LstmWorkspaceLayout {
  size_t G, HS, CS, TC, HR;             // forward part (kept for backward)
  size_t dG, dHP, dh, dc, dhr, dht, db; // backward scratch
  size_t PK;                            // W_hh packed for the fast float32 path (forward or backward)
  size_t forward_size, total_size;
};

// The inference-only forward (lstm_forward_inference): no history, see lstm.h.
struct LstmInferenceLayout {
  size_t G;        // (Tc, B, ldg_max): pre-activations of one chunk of Tc time steps
  size_t HS, CS;   // (2, B, Hout), (2, B, H): ping-pong states
  size_t TC, HR;   // (B, H) each (HR only when P > 0)
  size_t PK;       // packed W_hh
  size_t PKI;      // W_ih^T packed once for the chunks' input products (when input_prepacked)
  bool input_prepacked;  // several chunks share one packed W_ih^T (float32, input not fused)
  int Tc;          // time steps per chunk
  int ldg_max;     // G's row: 4H, or ceil(H/8)*32 (>= 4H) when input_prepacked (blocked G)
  size_t total_size;
};
bool lstm_inference_layout(const LstmDims& d, LstmInferenceLayout* layout);

// False when the dims are invalid or the sizes overflow.
bool lstm_workspace_layout(const LstmDims& d, LstmWorkspaceLayout* layout);

}  // namespace lstm
