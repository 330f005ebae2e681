// oneDNN's LSTM forward-inference primitive (Debian's libdnnl, 2.6 on bookworm) on one case, for
// bench/run.mjs: reads the case's data file (written by cases/onednn.mjs from lstm-native's seed-1
// weights), checks oneDNN's output against lstm-native's, times the primitive and prints one JSON
// line on stdout.
//
//   g++ -O2 -std=c++17 -o onednn_lstm onednn_lstm.cpp -ldnnl      (run.mjs builds it into bench/build/)
//   OMP_NUM_THREADS=2 onednn_lstm --data FILE [--reps 7] [--min-time 0.5] [--max-sec 30] [--warmup-sec 1]
//   onednn_lstm --info
//
// Data file (little-endian): int32 magic 0x4d54534c ("LSTM"), version 1, I, H, L, B, T, 0; then
// float32 x (T, B, I), weights_layer (L, I, 4, H), weights_iter (L, H, 4, H), bias (L, 4, H: b_ih
// + b_hh), lstm-native's y (T, B, H). Gates in PyTorch's order i, f, g, o, which is oneDNN's
// (i, f, c~, o). oneDNN stacks layers in one primitive only when I == H (W3 has it).
// Weights are reordered into the layout the primitive asks for (format any) once, before timing,
// as a loaded model would be; zero initial states; a user scratchpad allocated once.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "dnnl.hpp"

namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

struct CaseData {
  int I = 0, H = 0, L = 0, B = 0, T = 0;
  std::vector<float> x, weights_layer, weights_iter, bias, y_ours;
};

CaseData read_data(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open data file " + path);
  int32_t head[8];
  CaseData d;
  auto read = [&](void* dst, size_t bytes) {
    if (std::fread(dst, 1, bytes, f) != bytes) {
      std::fclose(f);
      throw std::runtime_error("data file " + path + " is truncated");
    }
  };
  read(head, sizeof head);
  if (head[0] != 0x4d54534c || head[1] != 1) {
    std::fclose(f);
    throw std::runtime_error("data file " + path + " is not a version-1 LSTM case file");
  }
  d.I = head[2], d.H = head[3], d.L = head[4], d.B = head[5], d.T = head[6];
  if (d.I < 1 || d.H < 1 || d.L < 1 || d.B < 1 || d.T < 1) {
    std::fclose(f);
    throw std::runtime_error("data file " + path + " has a non-positive size");
  }
  auto block = [&](std::vector<float>& v, size_t n) {
    v.resize(n);
    read(v.data(), n * sizeof(float));
  };
  const size_t I = d.I, H = d.H, L = d.L, B = d.B, T = d.T;
  block(d.x, T * B * I);
  block(d.weights_layer, L * I * 4 * H);
  block(d.weights_iter, L * H * 4 * H);
  block(d.bias, L * 4 * H);
  block(d.y_ours, T * B * H);
  std::fclose(f);
  if (d.L > 1 && d.I != d.H) {
    throw std::runtime_error("oneDNN stacks layers in one primitive only when I == H");
  }
  return d;
}

std::string version_string() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

struct Options {
  std::string data;
  int reps = 7;
  double min_time = 0.5, max_sec = 30, warmup_sec = 1;
  bool info = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--data") o.data = val();
    else if (a == "--reps") o.reps = std::max(1, std::atoi(val().c_str()));
    else if (a == "--min-time") o.min_time = std::atof(val().c_str());
    else if (a == "--max-sec") o.max_sec = std::atof(val().c_str());
    else if (a == "--warmup-sec") o.warmup_sec = std::atof(val().c_str());
    else if (a == "--info") o.info = true;
    else throw std::runtime_error("unknown option " + a);
  }
  if (!o.info && o.data.empty()) throw std::runtime_error("--data FILE or --info");
  return o;
}

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

int run(const Options& o) {
  if (o.info) {
    std::printf("{\"ok\":true,\"version\":\"%s\",\"omp_threads\":\"%s\"}\n", version_string().c_str(),
                env_or("OMP_NUM_THREADS", "unset"));
    return 0;
  }
  CaseData d = read_data(o.data);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  const dnnl::memory::dim I = d.I, H = d.H, L = d.L, B = d.B, T = d.T;
  const dnnl::memory::desc src_md({T, B, I}, dt::f32, tag::tnc), dst_md({T, B, H}, dt::f32, tag::tnc);
  const dnnl::memory::desc bias_md({L, 1, 4, H}, dt::f32, tag::ldgo);
  const dnnl::memory::desc wl_user_md({L, 1, I, 4, H}, dt::f32, tag::ldigo);
  const dnnl::memory::desc wi_user_md({L, 1, H, 4, H}, dt::f32, tag::ldigo);
  const dnnl::memory::desc wl_any({L, 1, I, 4, H}, dt::f32, tag::any), wi_any({L, 1, H, 4, H}, dt::f32, tag::any);
  dnnl::lstm_forward::desc desc(dnnl::prop_kind::forward_inference,
                                dnnl::rnn_direction::unidirectional_left2right, src_md, dnnl::memory::desc(),
                                dnnl::memory::desc(), wl_any, wi_any, bias_md, dst_md, dnnl::memory::desc(),
                                dnnl::memory::desc());
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::lstm_forward::primitive_desc pd(desc, attr, eng);

  // User memories over the file's arrays (no copies), weights reordered once into the primitive's layout.
  std::vector<float> y(static_cast<size_t>(T * B * H));
  dnnl::memory src(src_md, eng, d.x.data()), dst(dst_md, eng, y.data()), bias(bias_md, eng, d.bias.data());
  dnnl::memory wl_user(wl_user_md, eng, d.weights_layer.data()), wi_user(wi_user_md, eng, d.weights_iter.data());
  dnnl::memory wl(pd.weights_layer_desc(), eng), wi(pd.weights_iter_desc(), eng);
  dnnl::memory scratch(pd.scratchpad_desc(), eng);
  dnnl::reorder(wl_user, wl).execute(strm, wl_user, wl);
  dnnl::reorder(wi_user, wi).execute(strm, wi_user, wi);
  strm.wait();
  dnnl::lstm_forward prim(pd);
  const std::unordered_map<int, dnnl::memory> args = {
      {DNNL_ARG_SRC_LAYER, src}, {DNNL_ARG_WEIGHTS_LAYER, wl}, {DNNL_ARG_WEIGHTS_ITER, wi},
      {DNNL_ARG_BIAS, bias},     {DNNL_ARG_DST_LAYER, dst},    {DNNL_ARG_SCRATCHPAD, scratch}};
  auto once = [&] {
    prim.execute(strm, args);
    strm.wait();
  };

  // The same input and weights as lstm-native's forward: the outputs must agree.
  double t0 = now();
  once();
  double one = now() - t0;
  double max_diff = 0;
  for (size_t i = 0; i < y.size(); ++i) max_diff = std::max(max_diff, std::fabs(double(y[i]) - d.y_ours[i]));
  if (!(max_diff < 1e-3)) {
    throw std::runtime_error("oneDNN disagrees with lstm-native: max abs diff " + std::to_string(max_diff));
  }

  // Timing as bench/lib/common.mjs's timeit: warm-up calls for warmup_sec, then reps repetitions
  // of iters calls (at least min_time each), fewer repetitions when they would pass max_sec.
  const double w0 = now();
  int warm = 0;
  while (now() - w0 < o.warmup_sec && one < o.warmup_sec) {
    once();
    ++warm;
  }
  if (warm > 0) one = (now() - w0) / warm;
  const int iters = std::max(1, static_cast<int>(std::ceil(o.min_time / std::max(one, 1e-7))));
  int runs = o.reps;
  if (one * iters * runs > o.max_sec) runs = std::max(1, static_cast<int>(o.max_sec / (one * iters)));
  std::vector<double> per;
  const long f0 = minor_faults();
  for (int r = 0; r < runs; ++r) {
    const double s = now();
    for (int k = 0; k < iters; ++k) once();
    per.push_back((now() - s) / iters);
  }
  const long faults = minor_faults() - f0;
  std::vector<double> sorted = per;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double sec = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  double flops = 0;  // gate products only: 2 * 4H * (I + H) per step, sample and layer
  for (int l = 0; l < d.L; ++l) flops += 2.0 * 4 * d.H * ((l == 0 ? d.I : d.H) + d.H);
  flops *= static_cast<double>(d.T) * d.B;
  std::printf(
      "{\"ok\":true,\"sec_per_call\":%.9g,\"best_sec\":%.9g,\"reps\":%d,\"iters\":%d,\"seq_per_s\":%.9g,"
      "\"gflops\":%.9g,\"ms_per_seq\":%.9g,\"faults_per_call\":%ld,\"version\":\"%s\",\"impl\":\"%s\","
      "\"omp_threads\":\"%s\",\"max_abs_diff_vs_ours\":%.3g}\n",
      sec, sorted.front(), runs, iters, d.B / sec, flops / sec / 1e9, sec / d.B * 1e3,
      std::lround(static_cast<double>(faults) / (runs * iters)), version_string().c_str(), pd.impl_info_str(),
      env_or("OMP_NUM_THREADS", "unset"), max_diff);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {  // one line for run.mjs, non-zero exit
    std::string msg = e.what();
    for (char& ch : msg) if (ch == '"' || ch == '\\' || ch == '\n') ch = ' ';
    std::printf("{\"ok\":false,\"error\":\"%s\"}\n", msg.c_str());
    return 1;
  }
}
