// ONNX Runtime custom operators of M3Sharp (domain ai.m3sharp), loaded by M3.Core.Onnx.NativeOps:
//   PackedInt8Attention(qkv: float [1, tokens, 3·hidden], text_ends: int64 [texts]) -> float [1, tokens, hidden]
//     attribute num_heads; text t holds rows [text_ends[t-1], text_ends[t]) of the packed sequence and attends only to
//     itself (int8_attention.cc).
#define ORT_API_MANUAL_INIT
#include "onnxruntime_cxx_api.h"
#undef ORT_API_MANUAL_INIT
#include "onnxruntime_lite_custom_op.h"

#include "int8_attention.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

constexpr int64_t kMaxHeadSize = 256;

struct Task {
  const float* qkv;
  float* out;
  const int64_t* ends;
  int64_t heads, hidden, headSize;
  std::atomic<bool> failed{false};  // scratch could not be allocated: reported as an error, never thrown into ONNX Runtime's pool
};

void RunTask(void* data, size_t index) {
  auto& t = *static_cast<Task*>(data);
  const int64_t text = static_cast<int64_t>(index) / t.heads, head = static_cast<int64_t>(index) % t.heads;
  const int64_t start = text == 0 ? 0 : t.ends[text - 1], n = t.ends[text] - start;
  if (n <= 0) return;
  // Reused by each of ONNX Runtime's threads: a task needs a few hundred KB (a few MB for 8,192 tokens).
  thread_local std::vector<unsigned char> scratch;
  const size_t bytes = m3::Int8AttentionScratchBytes(n, t.headSize);
  try {
    if (scratch.size() < bytes) scratch.resize(bytes);
  } catch (...) {
    t.failed = true;
    return;
  }
  m3::Int8AttentionHead(t.qkv + start * 3 * t.hidden, t.out + start * t.hidden, n, t.hidden, t.headSize, head, scratch.data());
}

struct PackedInt8Attention {
  PackedInt8Attention(const OrtApi*, const OrtKernelInfo* info) {
    heads_ = Ort::ConstKernelInfo(info).GetAttribute<int64_t>("num_heads");
  }

  Ort::Status Compute(OrtKernelContext* context, const Ort::Custom::Tensor<float>& qkv, const Ort::Custom::Tensor<int64_t>& textEnds,
                      Ort::Custom::Tensor<float>& output) {
    const auto& shape = qkv.Shape();
    if (shape.size() != 3 || shape[0] != 1 || shape[2] % 3 != 0 || heads_ <= 0 || (shape[2] / 3) % heads_ != 0)
      return Ort::Status("PackedInt8Attention: qkv must be [1, tokens, 3*hidden] with hidden divisible by num_heads", ORT_INVALID_ARGUMENT);
    const int64_t tokens = shape[1], hidden = shape[2] / 3, headSize = hidden / heads_;
    if (headSize > kMaxHeadSize) return Ort::Status("PackedInt8Attention: head size over 256", ORT_INVALID_ARGUMENT);
    const int64_t texts = textEnds.NumberOfElement();
    const int64_t* ends = textEnds.Data();
    for (int64_t t = 0; t < texts; t++)
      if (ends[t] < (t == 0 ? 0 : ends[t - 1]) || ends[t] > tokens)
        return Ort::Status("PackedInt8Attention: text_ends must be non-decreasing and at most the token count", ORT_INVALID_ARGUMENT);
    float* out = output.Allocate({1, tokens, hidden});
    if (texts == 0 || tokens == 0) return Ort::Status{nullptr};
    Task task{qkv.Data(), out, ends, heads_, hidden, headSize};
    Ort::KernelContext(context).ParallelFor(RunTask, static_cast<size_t>(texts * heads_), 0, &task);
    if (task.failed) return Ort::Status("PackedInt8Attention: out of memory for its scratch buffers", ORT_FAIL);
    return Ort::Status{nullptr};
  }

  int64_t heads_;
};

}  // namespace

// Whether this CPU has what the kernels need; M3Sharp asks before it registers the operators or builds a graph with them.
extern "C" __attribute__((visibility("default"))) int m3_ops_cpu_supported() { return m3::CpuSupported() ? 1 : 0; }

// Defined here, not in int8_attention.cc, which is compiled for AVX-512 as a whole.
bool m3::CpuSupported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
}

// ONNX Runtime's entry point for SessionOptions.RegisterCustomOpLibrary.
extern "C" __attribute__((visibility("default"))) OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options, const OrtApiBase* api) {
  // An ONNX Runtime older than the headers this was compiled with has no such API: register nothing, so the session
  // reports the operator as unknown instead of this library crashing (M3.Core rebuilds it when the package changes).
  const OrtApi* ortApi = api->GetApi(ORT_API_VERSION);
  if (ortApi == nullptr) return nullptr;
  Ort::InitApi(ortApi);
  if (!m3::CpuSupported()) return Ort::Status("M3Sharp operators need AVX-512 with VNNI", ORT_FAIL).release();
  // The domain and its operators must outlive every session that uses them: kept for the life of the process.
  static std::mutex lock;
  static std::unique_ptr<Ort::Custom::OrtLiteCustomOp> attention;
  static std::vector<Ort::CustomOpDomain> domains;
  std::lock_guard<std::mutex> guard(lock);
  if (!attention) attention.reset(Ort::Custom::CreateLiteCustomOp<PackedInt8Attention>("PackedInt8Attention", "CPUExecutionProvider"));
  Ort::CustomOpDomain domain{"ai.m3sharp"};
  domain.Add(attention.get());
  Ort::UnownedSessionOptions(options).Add(domain);
  domains.push_back(std::move(domain));
  return nullptr;
}
