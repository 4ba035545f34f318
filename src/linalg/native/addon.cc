// Node-API glue from lmmkit's Kernels contract (src/linalg/kernels.ts) to the
// system's CBLAS and LAPACKE. Every matrix is dense column-major with leading
// dimension = rows; shapes were checked by the TypeScript Backend, so this
// file only unpacks arguments and forwards them.
#include <napi.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include <cblas.h>
#include <lapacke.h>

extern "C" {
// OpenBLAS extensions, weak so that the addon still loads on another CBLAS.
int openblas_get_num_threads(void) __attribute__((weak));
char* openblas_get_config(void) __attribute__((weak));
char* openblas_get_corename(void) __attribute__((weak));
}

namespace {

using Napi::CallbackInfo;
using Napi::Value;

int Int(const CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }
double Dbl(const CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
bool Bool(const CallbackInfo& info, size_t i) { return info[i].As<Napi::Boolean>().Value(); }
double* Arr(const CallbackInfo& info, size_t i) { return info[i].As<Napi::Float64Array>().Data(); }

// BLAS requires leading dimensions >= 1 even for empty matrices.
int Ld(int rows) { return std::max(1, rows); }

CBLAS_TRANSPOSE Trans(bool t) { return t ? CblasTrans : CblasNoTrans; }

Value Info(const CallbackInfo& info, const char* routine, lapack_int code) {
  if (code < 0) {
    Napi::Error::New(info.Env(), std::string(routine) + ": illegal argument " + std::to_string(-code) +
                                     " (an lmmkit bug: please report it)")
        .ThrowAsJavaScriptException();
  }
  return Napi::Number::New(info.Env(), static_cast<double>(code));
}

// dgemm(transA, transB, m, n, k, alpha, a, b, beta, c)
Value Dgemm(const CallbackInfo& info) {
  bool ta = Bool(info, 0), tb = Bool(info, 1);
  int m = Int(info, 2), n = Int(info, 3), k = Int(info, 4);
  if (m == 0 || n == 0) return info.Env().Undefined();
  cblas_dgemm(CblasColMajor, Trans(ta), Trans(tb), m, n, k, Dbl(info, 5), Arr(info, 6), Ld(ta ? k : m),
              Arr(info, 7), Ld(tb ? n : k), Dbl(info, 8), Arr(info, 9), Ld(m));
  return info.Env().Undefined();
}

// A dgemm run by the gemm thread (below). It holds references to its three
// arrays, so that they outlive the product even if JS drops them first.
struct GemmJob {
  bool ta = false, tb = false;
  int m = 0, n = 0, k = 0;
  double alpha = 0, beta = 0;
  const double* a = nullptr;
  const double* b = nullptr;
  double* c = nullptr;
  Napi::Reference<Napi::Float64Array> ra, rb, rc;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;

  void Run() {
    cblas_dgemm(CblasColMajor, Trans(ta), Trans(tb), m, n, k, alpha, a, Ld(ta ? k : m), b, Ld(tb ? n : k), beta, c, Ld(m));
    {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    cv.notify_all();
  }

  // Blocks until the product is written, then lets go of the arrays (JS thread only).
  void Finish() {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [this] { return done; });
    }
    ra.Reset();
    rb.Reset();
    rc.Reset();
  }
};

// One long-lived thread that runs the started products in order. One thread,
// not one per product: OpenBLAS sets up buffers for each new calling thread,
// which costs milliseconds. Detached and never freed: it sleeps between jobs
// and ends with the process.
class GemmThread {
 public:
  static GemmThread& Get() {
    static GemmThread* instance = Start();
    return *instance;
  }

  void Push(GemmJob* job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(job);
      pending_++;
    }
    cv_.notify_one();
  }

 private:
  static GemmThread* Start() {
    auto* t = new GemmThread();
    std::thread(&GemmThread::Loop, t).detach();
    instance_ = t;
    // exit() (process.exit included) runs this before the libraries'
    // destructors: OpenBLAS's shutdown would otherwise wait on threads busy
    // with a product that waits on them (a hang at exit).
    std::atexit(Drain);
    return t;
  }

  // Blocks until every queued product is written.
  static void Drain() {
    GemmThread* t = instance_;
    std::unique_lock<std::mutex> lock(t->mu_);
    t->idle_.wait(lock, [t] { return t->pending_ == 0; });
  }

  void Loop() {
    for (;;) {
      GemmJob* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return !queue_.empty(); });
        job = queue_.front();
        queue_.pop_front();
      }
      job->Run();
      {
        std::lock_guard<std::mutex> lock(mu_);
        pending_--;
      }
      idle_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_;
  std::deque<GemmJob*> queue_;
  size_t pending_ = 0;
  static GemmThread* instance_;
};

GemmThread* GemmThread::instance_ = nullptr;

// dgemmStart(transA, transB, m, n, k, alpha, a, b, beta, c): dgemm's arguments;
// queues the product for the gemm thread and returns its handle at once, for
// dgemmWait. The caller works beside it (the scan of mmEst's GWAS mode) and
// must not write a, b or c until dgemmWait returns. A handle never waited
// for is waited for when it is collected.
Value DgemmStart(const CallbackInfo& info) {
  auto* job = new GemmJob();
  auto handle = Napi::External<GemmJob>::New(info.Env(), job, [](Napi::Env, GemmJob* j) {
    j->Finish();
    delete j;
  });
  job->ta = Bool(info, 0);
  job->tb = Bool(info, 1);
  job->m = Int(info, 2);
  job->n = Int(info, 3);
  job->k = Int(info, 4);
  job->alpha = Dbl(info, 5);
  job->beta = Dbl(info, 8);
  if (job->m == 0 || job->n == 0) {
    job->done = true;
    return handle;
  }
  job->ra = Napi::Persistent(info[6].As<Napi::Float64Array>());
  job->rb = Napi::Persistent(info[7].As<Napi::Float64Array>());
  job->rc = Napi::Persistent(info[9].As<Napi::Float64Array>());
  job->a = Arr(info, 6);
  job->b = Arr(info, 7);
  job->c = Arr(info, 9);
  GemmThread::Get().Push(job);
  return handle;
}

// dgemmWait(handle): returns when the product of dgemmStart is written.
Value DgemmWait(const CallbackInfo& info) {
  info[0].As<Napi::External<GemmJob>>().Data()->Finish();
  return info.Env().Undefined();
}

// dsyrk(trans, n, k, alpha, a, beta, c)
Value Dsyrk(const CallbackInfo& info) {
  bool t = Bool(info, 0);
  int n = Int(info, 1), k = Int(info, 2);
  if (n == 0) return info.Env().Undefined();
  cblas_dsyrk(CblasColMajor, CblasLower, Trans(t), n, k, Dbl(info, 3), Arr(info, 4), Ld(t ? k : n), Dbl(info, 5),
              Arr(info, 6), Ld(n));
  return info.Env().Undefined();
}

// dgemv(trans, m, n, alpha, a, x, beta, y)
Value Dgemv(const CallbackInfo& info) {
  int m = Int(info, 1), n = Int(info, 2);
  if (m == 0 && n == 0) return info.Env().Undefined();
  cblas_dgemv(CblasColMajor, Trans(Bool(info, 0)), m, n, Dbl(info, 3), Arr(info, 4), Ld(m), Arr(info, 5), 1,
              Dbl(info, 6), Arr(info, 7), 1);
  return info.Env().Undefined();
}

// dpotrf(n, a)
Value Dpotrf(const CallbackInfo& info) {
  int n = Int(info, 0);
  if (n == 0) return Napi::Number::New(info.Env(), 0);
  return Info(info, "dpotrf", LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', n, Arr(info, 1), Ld(n)));
}

// dpotrs(n, nrhs, l, b)
Value Dpotrs(const CallbackInfo& info) {
  int n = Int(info, 0), nrhs = Int(info, 1);
  if (n == 0 || nrhs == 0) return Napi::Number::New(info.Env(), 0);
  return Info(info, "dpotrs",
              LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', n, nrhs, Arr(info, 2), Ld(n), Arr(info, 3), Ld(n)));
}

// dpotri(n, l)
Value Dpotri(const CallbackInfo& info) {
  int n = Int(info, 0);
  if (n == 0) return Napi::Number::New(info.Env(), 0);
  return Info(info, "dpotri", LAPACKE_dpotri_work(LAPACK_COL_MAJOR, 'L', n, Arr(info, 1), Ld(n)));
}

// dtrsm(left, lower, transA, unitDiag, m, n, alpha, a, b)
Value Dtrsm(const CallbackInfo& info) {
  bool left = Bool(info, 0);
  int m = Int(info, 4), n = Int(info, 5);
  if (m == 0 || n == 0) return info.Env().Undefined();
  cblas_dtrsm(CblasColMajor, left ? CblasLeft : CblasRight, Bool(info, 1) ? CblasLower : CblasUpper,
              Trans(Bool(info, 2)), Bool(info, 3) ? CblasUnit : CblasNonUnit, m, n, Dbl(info, 6), Arr(info, 7),
              Ld(left ? m : n), Arr(info, 8), Ld(m));
  return info.Env().Undefined();
}

// dsyevd(n, a, w): the high-level LAPACKE call sizes the divide-and-conquer workspace.
Value Dsyevd(const CallbackInfo& info) {
  int n = Int(info, 0);
  if (n == 0) return Napi::Number::New(info.Env(), 0);
  return Info(info, "dsyevd", LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', n, Arr(info, 1), Ld(n), Arr(info, 2)));
}

// dgesdd(m, n, a, s, u, vt): thin ('S') factors.
Value Dgesdd(const CallbackInfo& info) {
  int m = Int(info, 0), n = Int(info, 1);
  int p = std::min(m, n);
  if (p == 0) return Napi::Number::New(info.Env(), 0);
  return Info(info, "dgesdd",
              LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', m, n, Arr(info, 2), Ld(m), Arr(info, 3), Arr(info, 4), Ld(m),
                             Arr(info, 5), Ld(p)));
}

Value Describe(const CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  bool openblas = openblas_get_config != nullptr;
  std::string blas = "CBLAS/LAPACKE (system)";
  if (openblas) {
    blas = std::string("OpenBLAS (") + (openblas_get_corename ? openblas_get_corename() : "?") + ")";
  }
  out.Set("blas", blas);
  out.Set("threads", openblas_get_num_threads ? openblas_get_num_threads() : 1);
  out.Set("config", openblas ? openblas_get_config() : "");
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("dgemm", Napi::Function::New(env, Dgemm));
  exports.Set("dgemmStart", Napi::Function::New(env, DgemmStart));
  exports.Set("dgemmWait", Napi::Function::New(env, DgemmWait));
  exports.Set("dsyrk", Napi::Function::New(env, Dsyrk));
  exports.Set("dgemv", Napi::Function::New(env, Dgemv));
  exports.Set("dpotrf", Napi::Function::New(env, Dpotrf));
  exports.Set("dpotrs", Napi::Function::New(env, Dpotrs));
  exports.Set("dpotri", Napi::Function::New(env, Dpotri));
  exports.Set("dtrsm", Napi::Function::New(env, Dtrsm));
  exports.Set("dsyevd", Napi::Function::New(env, Dsyevd));
  exports.Set("dgesdd", Napi::Function::New(env, Dgesdd));
  exports.Set("describe", Napi::Function::New(env, Describe));
  return exports;
}

}  // namespace

NODE_API_MODULE(lmmkit_native, Init)
