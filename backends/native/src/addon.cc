// Node-API binding of the native backend. `run` computes on a libuv worker thread and
// returns a Promise, so the JS thread stays free during a long call.
#include <napi.h>

#include <string>

#include "evict.h"
#include "qmm.h"

namespace {

int64_t element_size(qmm::FloatType type) { return type == qmm::FloatType::Float32 ? 4 : 2; }

/** Reads a typed array property and checks that it contains at least `min_bytes` bytes. */
const void* typed_data(const Napi::Object& spec, const char* name, int64_t min_bytes, std::string& error) {
  const Napi::Value value = spec.Get(name);
  if (!value.IsTypedArray()) {
    error = std::string("property ") + name + " must be a typed array";
    return nullptr;
  }
  const Napi::TypedArray array = value.As<Napi::TypedArray>();
  if (static_cast<int64_t>(array.ByteLength()) < min_bytes) {
    error = std::string("typed array ") + name + " holds " + std::to_string(array.ByteLength()) + " bytes, expected at least " +
            std::to_string(min_bytes);
    return nullptr;
  }
  return static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
}

int64_t integer(const Napi::Object& spec, const char* name) { return spec.Get(name).As<Napi::Number>().Int64Value(); }

class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, const Napi::Object& spec, const qmm::Problem& problem)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), problem_(problem) {
    // Keeps the typed arrays alive while the worker thread reads and writes them.
    spec_ = Napi::Persistent(spec);
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    const std::string error = qmm::run(problem_);
    if (!error.empty()) SetError(error);
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference spec_;
  qmm::Problem problem_;
};

/** run(spec): Promise<void>. Writes the result into spec.y. */
Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "run expects one object argument").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const Napi::Object spec = info[0].As<Napi::Object>();

  qmm::Problem p{};
  p.encoding = static_cast<qmm::Encoding>(integer(spec, "encoding"));
  p.scale_kind = static_cast<qmm::ScaleKind>(integer(spec, "scaleKind"));
  p.affine = spec.Get("affine").ToBoolean();
  p.transpose = spec.Get("transpose").ToBoolean();
  p.bits = static_cast<int>(integer(spec, "bits"));
  p.group_size = static_cast<int>(integer(spec, "groupSize"));
  p.M = integer(spec, "M");
  p.K = integer(spec, "K");
  p.N = integer(spec, "N");
  p.x_type = static_cast<qmm::FloatType>(integer(spec, "xType"));
  p.scales_type = static_cast<qmm::FloatType>(integer(spec, "scalesType"));
  p.biases_type = static_cast<qmm::FloatType>(integer(spec, "biasesType"));
  p.out_type = static_cast<qmm::FloatType>(integer(spec, "outType"));
  p.batch_count = integer(spec, "batchCount");
  p.x_matrix_count = integer(spec, "xMatrixCount");
  p.w_matrix_count = integer(spec, "wMatrixCount");

  const int64_t rows = p.transpose ? p.N : p.K;
  const int64_t length = p.transpose ? p.K : p.N;
  const int64_t scale_count = p.w_matrix_count * rows * (length / (p.group_size > 0 ? p.group_size : 1));
  const int64_t scale_size = p.affine ? element_size(p.scales_type) : 1;

  std::string error;
  p.x = typed_data(spec, "x", p.x_matrix_count * p.M * p.K * element_size(p.x_type), error);
  if (error.empty()) p.w = static_cast<const uint32_t*>(typed_data(spec, "w", p.w_matrix_count * rows * length * p.bits / 8, error));
  if (error.empty()) p.scales = typed_data(spec, "scales", scale_count * scale_size, error);
  if (error.empty() && p.affine) p.biases = typed_data(spec, "biases", scale_count * element_size(p.biases_type), error);
  if (error.empty()) p.y = const_cast<void*>(typed_data(spec, "y", p.batch_count * p.M * p.N * element_size(p.out_type), error));
  if (error.empty()) p.x_index = static_cast<const int32_t*>(typed_data(spec, "xIndex", p.batch_count * 4, error));
  if (error.empty()) p.w_index = static_cast<const int32_t*>(typed_data(spec, "wIndex", p.batch_count * 4, error));
  if (!error.empty()) {
    Napi::TypeError::New(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  auto* worker = new RunWorker(env, spec, p);
  const Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

/** info(): { isa, cpuFeatures, threads }. */
Napi::Value Info(const Napi::CallbackInfo& info) {
  const qmm::BuildInfo build = qmm::build_info();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("isa", build.isa);
  out.Set("cpuFeatures", build.cpu_features);
  out.Set("threads", build.threads);
  return out;
}

/** measureReadBandwidth(bytes, repeats): bytes per second, measured synchronously. */
Napi::Value MeasureReadBandwidth(const Napi::CallbackInfo& info) {
  const double bytes = info[0].As<Napi::Number>().DoubleValue();
  const int repeats = info[1].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), qmm::measure_read_bandwidth(static_cast<size_t>(bytes), repeats));
}

/** streamRead(data: Float32Array): the sum of its elements, read once by every pool thread. */
Napi::Value StreamRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    Napi::TypeError::New(env, "streamRead expects one argument: a Float32Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  const Napi::Float32Array data = info[0].As<Napi::Float32Array>();
  return Napi::Number::New(env, qmm::stream_read(data.Data(), static_cast<int64_t>(data.ElementLength())));
}

/** evictCaches(bytes): { bytes, threads, seconds }, computed synchronously. */
Napi::Value EvictCaches(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double max_safe_integer = 9007199254740991.0;
  const double bytes = info.Length() == 1 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1.0;
  if (!(bytes >= 1.0 && bytes <= max_safe_integer) || bytes != static_cast<double>(static_cast<int64_t>(bytes))) {
    Napi::TypeError::New(env, "evictCaches expects one argument: a positive integer number of bytes").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  const qmm::EvictionResult result = qmm::evict_caches(static_cast<size_t>(bytes));
  if (!result.error.empty()) {
    Napi::RangeError::New(env, result.error).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Object out = Napi::Object::New(env);
  out.Set("bytes", static_cast<double>(result.bytes));
  out.Set("threads", result.threads);
  out.Set("seconds", result.seconds);
  return out;
}

/** releaseEvictionBuffer(): frees the buffer of evictCaches. */
Napi::Value ReleaseEvictionBuffer(const Napi::CallbackInfo& info) {
  qmm::release_eviction_buffer();
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("run", Napi::Function::New(env, Run));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("measureReadBandwidth", Napi::Function::New(env, MeasureReadBandwidth));
  exports.Set("streamRead", Napi::Function::New(env, StreamRead));
  exports.Set("evictCaches", Napi::Function::New(env, EvictCaches));
  exports.Set("releaseEvictionBuffer", Napi::Function::New(env, ReleaseEvictionBuffer));
  return exports;
}

}  // namespace

NODE_API_MODULE(qmm_native, Init)
