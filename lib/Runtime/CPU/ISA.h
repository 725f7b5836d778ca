//===- ISA.h - Kernels compiled once per instruction set -------*- C++ -*-===//
//
// Attention.cpp and Linear.cpp are compiled three times, with
// XFORMER_ISA_LEVEL 0 (baseline x86-64), 1 (AVX2, FMA, F16C) and 2
// (AVX-512 F/BW/DQ/VL with BF16 and VNNI); Dispatch.cpp calls the build
// the CPU runs (cpuISA). Each build's code is in its own namespace
// (XF_ISA_NS) and carries its instruction set as a target attribute on
// every function defined between XF_ISA_BEGIN and XF_ISA_END (the
// translation unit itself is compiled for the baseline): the standard
// library and the headers included before XF_ISA_BEGIN compile for the
// baseline in every build, so the linker's choice among their copies is
// always one that runs on any x86-64. XF_AVX512 and XF_AVX512BF16 stand
// for __AVX512F__ and __AVX512BF16__ in those files.
//
// Include this header after every other.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_LIB_RUNTIME_CPU_ISA_H
#define XFORMER_LIB_RUNTIME_CPU_ISA_H

#ifndef XFORMER_ISA_LEVEL
#error "compiled once per instruction set: define XFORMER_ISA_LEVEL"
#endif

#define XF_ISA_STRINGIZED_PRAGMA(x) _Pragma(#x)
#define XF_ISA_PRAGMA(x) XF_ISA_STRINGIZED_PRAGMA(x)

#if XFORMER_ISA_LEVEL == 0
#define XF_ISA_NS isa_baseline
#define XF_AVX512 0
#define XF_AVX512BF16 0
#define XF_ISA_BEGIN namespace xformer::runtime::cpu::XF_ISA_NS {
#define XF_ISA_END }
#else
#if XFORMER_ISA_LEVEL == 1
#define XF_ISA_NS isa_avx2
#define XF_AVX512 0
#define XF_AVX512BF16 0
#define XF_ISA_TARGET "avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt"
#elif XFORMER_ISA_LEVEL == 2
#define XF_ISA_NS isa_avx512
#define XF_AVX512 1
#define XF_AVX512BF16 1
// clang-format off
#define XF_ISA_TARGET "avx2,fma,f16c,bmi,bmi2,lzcnt,popcnt,avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx512vnni"
// clang-format on
#else
#error "XFORMER_ISA_LEVEL is 0, 1 or 2"
#endif
#define XF_ISA_BEGIN                                                           \
  XF_ISA_PRAGMA(clang attribute push(                                          \
      __attribute__((target(XF_ISA_TARGET))), apply_to = function))            \
  namespace xformer::runtime::cpu::XF_ISA_NS {
#define XF_ISA_END                                                             \
  }                                                                            \
  XF_ISA_PRAGMA(clang attribute pop)
#endif

#endif // XFORMER_LIB_RUNTIME_CPU_ISA_H
