// A training loop over the kernel's own entry points (no Node): workspace sizing, the training
// forward, BPTT, the dense head, softmax cross-entropy, Adam, then inference, for a few hundred
// steps with shapes that change from step to step (so every scratch size is allocated and freed
// again). Built with the sanitizer build (scripts/build-native.mjs --asan), where LeakSanitizer
// checks at exit that nothing the kernel allocated is left unfreed; it also fails on a non-Ok
// status or a non-finite loss. Usage: leak_train_loop [steps=300]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "lstm.h"
#include "ops_linear.h"
#include "ops_optim.h"
#include "ops_softmax_xent.h"

namespace {

using lstm::Status;

int fail(const char* what, Status s) {
  std::fprintf(stderr, "leak_train_loop: %s: %s\n", what, lstm::status_message(s));
  return 1;
}

// A small deterministic generator (the test must not depend on the libc's rand).
struct Lcg {
  uint64_t s;
  float next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>((s >> 40) & 0xffffff) / 16777216.0f - 0.5f;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 300;
  const int I = 5, H = 24, C = 7;
  const int G = 4 * H;
  Lcg rng{42};
  // Parameters, gradients and Adam state: W_ih W_hh b_ih b_hh of the LSTM, then W and b of the head.
  const int64_t n = int64_t(G) * I + int64_t(G) * H + 2 * G + int64_t(C) * H + C;
  std::vector<float> param(n), grad(n), m1(n), m2(n);
  for (auto& v : param) v = 0.3f * rng.next();
  float* W_ih = param.data();
  float* W_hh = W_ih + G * I;
  float* b_ih = W_hh + G * H;
  float* b_hh = b_ih + G;
  float* W = b_hh + G;
  float* b = W + C * H;
  lstm::LstmParams<float> p{W_ih, W_hh, b_ih, b_hh, nullptr};
  double last = 0;
  for (int step = 1; step <= steps; ++step) {
    lstm::LstmDims d;
    d.T = 1 + step % 13;
    d.B = 1 + step % 5;
    d.I = I;
    d.H = H;
    const int rows = d.T * d.B;
    std::vector<float> x(size_t(rows) * I), y(size_t(rows) * H), hn(d.B * H), cn(d.B * H);
    for (auto& v : x) v = rng.next();
    std::vector<int32_t> lengths(d.B);
    for (int i = 0; i < d.B; ++i) lengths[i] = d.T - i % d.T;
    std::vector<float> ws(lstm::lstm_workspace_size(d));
    if (ws.empty()) return fail("workspace size", Status::InvalidDims);
    Status s = lstm::lstm_forward<float>(y.data(), H, hn.data(), cn.data(), ws.data(), x.data(),
                                         nullptr, nullptr, lengths.data(), p, d);
    if (s != Status::Ok) return fail("forward", s);
    // The head on every step's output, trained to predict a class from the step index.
    std::vector<float> logits(size_t(rows) * C), dlogits(size_t(rows) * C), dy(size_t(rows) * H);
    lstm::linear_forward<float>(logits.data(), y.data(), W, b, rows, H, C);
    std::vector<int32_t> targets(rows);
    for (int r = 0; r < rows; ++r) targets[r] = (r / d.B) % C;
    lstm::SoftmaxXentArgs a;
    a.N = rows;
    a.C = C;
    a.logits = logits.data();
    a.targets = targets.data();
    a.grad = dlogits.data();
    double loss = 0;
    s = lstm::softmax_xent(a, &loss);
    if (s != Status::Ok) return fail("softmax cross-entropy", s);
    if (!std::isfinite(loss)) return fail("loss is not finite", Status::Ok);
    std::fill(grad.begin(), grad.end(), 0.0f);
    float* dW_ih = grad.data();
    float* dW_hh = dW_ih + G * I;
    float* db_ih = dW_hh + G * H;
    float* db_hh = db_ih + G;
    float* dW = db_hh + G;
    float* db = dW + C * H;
    lstm::linear_backward<float>(dy.data(), dW, db, dlogits.data(), y.data(), W, rows, H, C);
    std::vector<float> dx(x.size());
    lstm::LstmParamGrads<float> g{dW_ih, dW_hh, db_ih, db_hh, nullptr};
    s = lstm::lstm_backward<float>(dx.data(), nullptr, nullptr, g, ws.data(), dy.data(), H, nullptr,
                                   nullptr, x.data(), lengths.data(), p, d);
    if (s != Status::Ok) return fail("backward", s);
    s = lstm::adam_step(param.data(), grad.data(), m1.data(), m2.data(), nullptr, n, step, 1e-2, 0.9,
                        0.999, 1e-8, 0.0, false);
    if (s != Status::Ok) return fail("adam", s);
    // Inference on its own workspace, as a session or predict would.
    std::vector<float> wsi(lstm::lstm_workspace_inference_size(d)), yi(y.size());
    s = lstm::lstm_forward_inference<float>(yi.data(), H, nullptr, nullptr, wsi.data(), x.data(),
                                            hn.data(), cn.data(), nullptr, p, d);
    if (s != Status::Ok) return fail("inference", s);
    last = loss;
  }
  std::printf("leak_train_loop: %d steps, last loss %.4f\n", steps, last);
  return 0;
}
