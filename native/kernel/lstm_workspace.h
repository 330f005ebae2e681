// Offsets (in elements) of each workspace region; see the layout comment in lstm.h.
#pragma once

#include <cstddef>

#include "lstm.h"

namespace lstm {

struct LstmWorkspaceLayout {
  size_t G, HS, CS, TC, HR;             // forward part (kept for backward)
  size_t dG, dHP, dh, dc, dhr, dht, db; // backward scratch
  size_t forward_size, total_size;
};

// False when the dims are invalid or the sizes overflow.
bool lstm_workspace_layout(const LstmDims& d, LstmWorkspaceLayout* layout);

}  // namespace lstm
