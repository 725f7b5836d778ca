//===- VectorMath.h - Activations on 8 floats by AVX2 -----------*- C++ -*-===//
//
// The exponential and SiLU the runtime's own kernels compute in vectors:
// the linear epilogue of the ggml-block kernels (QuantLinear.cpp) and the
// gated linear unit (xfk_glu). Callers check the CPU for AVX2 and FMA.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_LIB_RUNTIME_CPU_VECTORMATH_H
#define XFORMER_LIB_RUNTIME_CPU_VECTORMATH_H

#include <immintrin.h>

#define XF_AVX2_FMA "avx2,fma,f16c"

namespace xformer::runtime::cpu {

/// e^x for x <= 0, 8 lanes by AVX2: Cephes' expf (n = round(x log2 e), the
/// reduction by ln 2 in two parts, a degree-5 polynomial; about 1 ulp), x
/// held at -87 or above (e^-87 is about the smallest normal float) so that
/// 2^n is built in the exponent bits.
__attribute__((target(XF_AVX2_FMA))) inline __m256 expNonPositive8(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  const __m256 n = _mm256_round_ps(
      _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r),
                      _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i scale = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(scale));
}

/// x / (1 + e^-x) on 8 lanes, with e^-|x| (x e^x / (1 + e^x) below 0) so
/// that no lane overflows.
__attribute__((target(XF_AVX2_FMA))) inline __m256 silu8(__m256 v) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 e =
      expNonPositive8(_mm256_sub_ps(zero, _mm256_and_ps(v, absMask)));
  const __m256 num = _mm256_blendv_ps(v, _mm256_mul_ps(v, e),
                                      _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
  return _mm256_div_ps(num, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

} // namespace xformer::runtime::cpu

#endif // XFORMER_LIB_RUNTIME_CPU_VECTORMATH_H
