//===- Dispatch.cpp - The kernels' build for the CPU at hand ---------------===//
//
// Attention.cpp and Linear.cpp are compiled once per instruction set (see
// ISA.h); the entry points here call the widest build the CPU runs, chosen
// once per process from its features (XFORMER_CPU_ISA=baseline|avx2 picks a
// narrower one: tests run every build the CPU has). A runtime library built
// on one x86-64 machine so runs, at that machine's speed, on any other.
//
//===----------------------------------------------------------------------===//

#include "Epilogue.h"
#include "xformer/Runtime/CPU/Attention.h"
#include "xformer/Runtime/CPU/Linear.h"

#include <cpuid.h>
#include <cstdlib>
#include <string>

using namespace xformer::runtime::cpu;

#define XF_DECLARE_ISA(NS)                                                     \
  namespace xformer::runtime::cpu::NS {                                        \
  bool linear(const LinearArgs &a, std::string &error);                        \
  bool panelLinear(const LinearArgs &a, PanelDecoder decode,                   \
                   std::string &error);                                        \
  void attention(const mask::Spec &spec, const AttentionArgs &args);           \
  void attentionCustom(const AttentionArgs &args, const bool *mask,            \
                       int64_t maskBatchStride, int64_t maskHeadStride);       \
  }
XF_DECLARE_ISA(isa_baseline)
XF_DECLARE_ISA(isa_avx2)
XF_DECLARE_ISA(isa_avx512)
#undef XF_DECLARE_ISA

namespace {

/// The widest build the CPU runs. The AVX-512 build takes BF16 and VNNI
/// too (Cooper Lake, Sapphire Rapids and later, Zen 4 and later); an
/// AVX-512 CPU without them runs the AVX2 build.
CpuISA detect() {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") &&
                    __builtin_cpu_supports("fma") &&
                    __builtin_cpu_supports("f16c") &&
                    __builtin_cpu_supports("bmi2");
  const bool avx512 =
      avx2 && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bf16") &&
      __builtin_cpu_supports("avx512vnni");
  return avx512 ? CpuISA::AVX512 : avx2 ? CpuISA::AVX2 : CpuISA::Baseline;
}

} // namespace

CpuISA xformer::runtime::cpu::cpuISA() {
  static const CpuISA chosen = [] {
    CpuISA isa = detect();
    if (const char *env = std::getenv("XFORMER_CPU_ISA")) {
      const std::string v = env;
      if (v == "baseline")
        isa = CpuISA::Baseline;
      else if (v == "avx2" && isa == CpuISA::AVX512)
        isa = CpuISA::AVX2;
    }
    return isa;
  }();
  return chosen;
}

bool xformer::runtime::cpu::softwarePrefetch() {
  static const bool prefetch = [] {
    if (const char *env = std::getenv("XFORMER_PREFETCH"))
      return std::string(env) != "0";
    __builtin_cpu_init();
    if (__builtin_cpu_is("intel"))
      return true;
    // AMD from Zen 5 (family 1Ah) on; not Zen 3 and Zen 4 (family 19h).
    unsigned eax, ebx, ecx, edx;
    if (!__builtin_cpu_is("amd") || !__get_cpuid(1, &eax, &ebx, &ecx, &edx))
      return false;
    const unsigned family = ((eax >> 8) & 0xf) + ((eax >> 20) & 0xff);
    return family >= 0x1a;
  }();
  return prefetch;
}

#define XF_DISPATCH(CALL)                                                      \
  switch (cpuISA()) {                                                          \
  case CpuISA::AVX512:                                                         \
    return isa_avx512::CALL;                                                   \
  case CpuISA::AVX2:                                                           \
    return isa_avx2::CALL;                                                     \
  case CpuISA::Baseline:                                                       \
    break;                                                                     \
  }                                                                            \
  return isa_baseline::CALL;

bool xformer::runtime::cpu::linear(const LinearArgs &a, std::string &error) {
  XF_DISPATCH(linear(a, error))
}

bool xformer::runtime::cpu::panelLinear(const LinearArgs &a,
                                        PanelDecoder decode,
                                        std::string &error) {
  XF_DISPATCH(panelLinear(a, decode, error))
}

void xformer::runtime::cpu::attention(const mask::Spec &spec,
                                      const AttentionArgs &args) {
  XF_DISPATCH(attention(spec, args))
}

void xformer::runtime::cpu::attentionCustom(const AttentionArgs &args,
                                            const bool *mask,
                                            int64_t maskBatchStride,
                                            int64_t maskHeadStride) {
  XF_DISPATCH(attentionCustom(args, mask, maskBatchStride, maskHeadStride))
}
