// Linear layer over the last dimension, PyTorch's nn.Linear layout:
//   W (out, in) row-major, b (out)            x (N, in)  ->  y (N, out) = x W^T + b
// N is every leading dimension flattened (B*T for a sequence model's head).
#pragma once

#include <cstddef>

namespace lstm {

// y = x W^T + b (b may be nullptr).
template <typename F>
void linear_forward(F* y, const F* x, const F* W, const F* b, int N, int in, int out);

// Accumulates dW += dy^T x and db += colsum(dy) (db may be nullptr); dx = dy W (overwritten, may
// be nullptr when the input needs no gradient).
template <typename F>
void linear_backward(F* dx, F* dW, F* db, const F* dy, const F* x, const F* W, int N, int in, int out);

}  // namespace lstm
