//===- Gemm.cuh - GEMMs of the CUDA target through cuBLASLt --------------===//
//
// Row-major linear layers and batched matmuls as cuBLASLt column-major
// GEMMs (the mapping is LaunchPlan.h's linearGemm, unit-tested on the
// host). fp32 operands with TF32 tensor-core math; bias, bias + GELU (tanh
// form) and bias + ReLU are cuBLASLt epilogues; a residual without an
// activation is the C operand (beta = 1). Descriptors and the heuristic's
// algorithm are cached per shape.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_CUDA_GEMM_CUH
#define XFORMER_RUNTIME_CUDA_GEMM_CUH

#include "xformer/Runtime/CUDA/Common.cuh"

#include <cublasLt.h>

#include <map>
#include <tuple>

namespace xformer::cuda {

struct GemmEpilogue {
  const float *bias = nullptr;
  bool gelu = false, relu = false;
  const float *residual = nullptr; // D = A B + residual (no activation)
};

constexpr size_t kGemmWorkspaceBytes = size_t(32) << 20;

inline int32_t cublasFail(xfk_frame *f, cublasStatus_t s, const char *what) {
  std::string msg = std::string("cuBLASLt ") + what + ": " +
                    cublasLtGetStatusName(s) + " (" +
                    cublasLtGetStatusString(s) + ")";
  return xfk_fail(f, XF_ERROR_DEVICE, msg.c_str());
}

/// One cached GEMM configuration.
struct GemmPlan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo;
};

using GemmKey = std::tuple<bool, int64_t, int64_t, int64_t, int64_t, int64_t,
                           int64_t, int, int64_t, int64_t, int64_t, int64_t>;

inline cublasLtHandle_t ltHandle(cublasStatus_t *status) {
  static cublasStatus_t created = CUBLAS_STATUS_SUCCESS;
  static cublasLtHandle_t handle = [] {
    cublasLtHandle_t h = nullptr;
    created = cublasLtCreate(&h);
    return h;
  }();
  *status = created;
  return handle;
}

inline int32_t gemmPlan(xfk_frame *f, const GemmShape &g, int epilogue,
                        int64_t batch, int64_t strideA, int64_t strideB,
                        int64_t strideD, GemmPlan **out) {
  static std::map<GemmKey, GemmPlan> plans;
  GemmKey key{g.transA, g.m, g.n, g.k, g.lda, g.ldb, g.ldd, epilogue,
              batch,    strideA, strideB, strideD};
  auto it = plans.find(key);
  if (it != plans.end()) {
    *out = &it->second;
    return 0;
  }
  cublasStatus_t s;
  cublasLtHandle_t h = ltHandle(&s);
  if (s != CUBLAS_STATUS_SUCCESS)
    return cublasFail(f, s, "handle");
  GemmPlan p;
  auto check = [&](cublasStatus_t st, const char *what) {
    return st == CUBLAS_STATUS_SUCCESS ? 0 : cublasFail(f, st, what);
  };
  if (int32_t rc = check(cublasLtMatmulDescCreate(
                             &p.op, CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F),
                         "matmul descriptor"))
    return rc;
  cublasOperation_t ta = g.transA ? CUBLAS_OP_T : CUBLAS_OP_N,
                    tb = CUBLAS_OP_N;
  cublasLtEpilogue_t ep = static_cast<cublasLtEpilogue_t>(epilogue);
  cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta,
                                 sizeof ta);
  cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb,
                                 sizeof tb);
  cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep,
                                 sizeof ep);
  const uint64_t aRows = g.transA ? g.k : g.m, aCols = g.transA ? g.m : g.k;
  if (int32_t rc = check(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_32F, aRows,
                                                    aCols, g.lda),
                         "layout A"))
    return rc;
  if (int32_t rc = check(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_32F, g.k,
                                                    g.n, g.ldb),
                         "layout B"))
    return rc;
  if (int32_t rc = check(cublasLtMatrixLayoutCreate(&p.d, CUDA_R_32F, g.m,
                                                    g.n, g.ldd),
                         "layout D"))
    return rc;
  if (batch > 1) {
    int32_t count = static_cast<int32_t>(batch);
    const std::pair<cublasLtMatrixLayout_t, int64_t> layouts[] = {
        {p.a, strideA}, {p.b, strideB}, {p.d, strideD}};
    for (auto [layout, stride] : layouts) {
      cublasLtMatrixLayoutSetAttribute(
          layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count);
      cublasLtMatrixLayoutSetAttribute(
          layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
          sizeof stride);
    }
  }
  cublasLtMatmulPreference_t pref = nullptr;
  if (int32_t rc = check(cublasLtMatmulPreferenceCreate(&pref), "preference"))
    return rc;
  size_t ws = kGemmWorkspaceBytes;
  cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws);
  cublasLtMatmulHeuristicResult_t result = {};
  int found = 0;
  cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(
      h, p.op, p.a, p.b, p.d, p.d, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  if (hs != CUBLAS_STATUS_SUCCESS || found == 0)
    return cublasFail(f,
                      hs != CUBLAS_STATUS_SUCCESS ? hs
                                                  : CUBLAS_STATUS_NOT_SUPPORTED,
                      "no algorithm for this GEMM");
  p.algo = result.algo;
  *out = &plans.emplace(key, p).first->second;
  return 0;
}

/// D = op(A) B (+ epilogue), `batch` of them at the given element strides
/// (0: the operand is shared by every batch index).
inline int32_t gemm(xfk_frame *f, const GemmShape &g, const float *A,
                    const float *B, float *D, const GemmEpilogue &e,
                    int64_t batch, int64_t strideA, int64_t strideB,
                    int64_t strideD) {
  int epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  if (e.gelu)
    epilogue = e.bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  else if (e.relu)
    epilogue = e.bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
  else if (e.bias)
    epilogue = CUBLASLT_EPILOGUE_BIAS;
  GemmPlan *p = nullptr;
  if (int32_t rc =
          gemmPlan(f, g, epilogue, batch, strideA, strideB, strideD, &p))
    return rc;
  if (e.bias)
    cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                   &e.bias, sizeof e.bias);
  void *ws = nullptr;
  if (cudaError_t err = ensureWorkspace(1, kGemmWorkspaceBytes, &ws))
    return cudaFail(f, err, "GEMM workspace");
  cublasStatus_t s;
  cublasLtHandle_t h = ltHandle(&s);
  const float alpha = 1.0f, beta = e.residual ? 1.0f : 0.0f;
  const float *C = e.residual ? e.residual : D;
  s = cublasLtMatmul(h, p->op, &alpha, A, p->a, B, p->b, &beta, C, p->d, D,
                     p->d, &p->algo, ws, kGemmWorkspaceBytes, 0);
  if (s != CUBLAS_STATUS_SUCCESS)
    return cublasFail(f, s, "matmul");
  return 0;
}

} // namespace xformer::cuda

#endif // XFORMER_RUNTIME_CUDA_GEMM_CUH
