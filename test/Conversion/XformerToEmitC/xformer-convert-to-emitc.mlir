// The lowering to EmitC: each op one kernel call whose sizes are literals,
// after a comment naming the op and before the check of its status; each
// result a pointer into the scratch at its planned offset; weights entries
// of the frame's table; the module's tables as static arrays.
// RUN: xformer-opt %s --xformer-plan-scratch --xformer-convert-to-emitc | FileCheck %s
// RUN: xformer-opt %s --xformer-plan-scratch --xformer-convert-to-emitc=target=cuda | FileCheck %s --check-prefix=CUDA
//
// The printer decides nothing: the upstream emitter on this EmitC prints
// what xformer-translate (and so xformer-compile) prints.
// RUN: xformer-opt %s --xformer-plan-scratch --xformer-convert-to-emitc --form-expressions | xformer-translate --mlir-to-cpp -o %t.upstream.cpp
// RUN: xformer-opt %s --xformer-plan-scratch --mlir-print-debuginfo | xformer-translate --xformer-to-cpp -o %t.xformer.cpp
// RUN: diff %t.upstream.cpp %t.xformer.cpp
// RUN: FileCheck %s --check-prefix=CPP < %t.xformer.cpp

// CHECK: emitc.include "xformer/Runtime/CPU/Kernels.h"
// CHECK: emitc.global static const @[[SHAPE:kShape[0-9]+]] : !emitc.array<2xi64> = dense<64>
// CHECK: emitc.global static const @kWeights : !emitc.array<3x!emitc.opaque<"xfm_tensor_desc">>
// CHECK-SAME: \22w\22, XFM_F32, 2, [[SHAPE]]
// CHECK-LABEL: emitc.func @fn_forward(
// CHECK-SAME: %[[F:.+]]: !emitc.ptr<!emitc.opaque<"xfk_frame">>, %[[IN:.+]]: !emitc.ptr<!emitc.opaque<"const void *const">>, %[[OUT:.+]]: !emitc.ptr<!emitc.opaque<"void *const">>) -> i32
// CHECK-SAME: specifiers = ["static"]
// CHECK: %[[S:.+]] = load %{{.+}} : <!emitc.ptr<!emitc.opaque<"char">>>
// CHECK: %[[X:.+]] = cast %{{.+}} : !emitc.opaque<"const void *const"> to !emitc.ptr<f32>
// CHECK: %[[W:.+]] = cast %{{.+}} : !emitc.opaque<"const void *const"> to !emitc.ptr<f32>
// CHECK: %[[B:.+]] = cast %{{.+}} : !emitc.opaque<"const void *const"> to !emitc.ptr<f32>
// The linear with its epilogue: gelu (code 0), no residual.
// CHECK: verbatim "// xformer.linear loc(
// CHECK-NEXT: %[[Y:.+]] = cast %[[S]] : !emitc.ptr<!emitc.opaque<"char">> to !emitc.ptr<f32>
// CHECK-NEXT: %[[RC:.+]] = call_opaque "xfk_linear_fused"(%[[F]], %[[X]], %[[W]], %[[B]], %[[Y]]) {args = [0 : index, 1 : index, 2 : index, 3 : index, 4 : index, 2, 64, 64, 0, 0, #emitc.opaque<"0">]}
// CHECK-NEXT: verbatim "if ({}) return {};" args %[[RC]], %[[RC]] : i32, i32
// The relu at byte 512 of the scratch (the linear's result still live).
// CHECK: verbatim "// xformer.relu loc(
// CHECK-NEXT: %[[OFF:.+]] = literal "512" : i64
// CHECK-NEXT: %[[P:.+]] = add %[[S]], %[[OFF]]
// CHECK-NEXT: %[[R:.+]] = cast %[[P]] : !emitc.ptr<!emitc.opaque<"char">> to !emitc.ptr<f32>
// CHECK-NEXT: call_opaque "xfk_unary"(%[[F]], %[[Y]], %[[R]]) {args = [0 : index, #emitc.opaque<"XFK_RELU">, 1 : index, 2 : index, 128]}
// CHECK: call_opaque "xfk_embedding"
// CHECK-SAME: #emitc.opaque<"XFM_I64">
// Results copied out, then status 0.
// CHECK: subscript %[[OUT]]
// CHECK: call_opaque "memcpy"(%{{.+}}, %[[R]]) {args = [0 : index, 1 : index, 512]}
// CHECK: return %{{.+}} : i32
// CHECK: emitc.global static const @kFunctions
// CHECK-SAME: \22forward\22, fn_forward, 2, kfn_forward_in, 2, kfn_forward_out, 1024, 0
// CHECK: emitc.func @xformer_model() -> !emitc.ptr<!emitc.opaque<"const xfm_model_desc">>
// CHECK-NOT: xformer.

// CUDA differs by the callee table: the kernels' header and namespace,
// results copied on the device and checked, device errors collected.
// CUDA: emitc.include "xformer/Runtime/CUDA/Kernels.cuh"
// CUDA-NEXT: emitc.include <"math.h">
// CUDA-NEXT: emitc.include <"string.h">
// CUDA-NEXT: emitc.verbatim "using namespace xformer::cuda;"
// CUDA: call_opaque "xfk_linear_fused"
// CUDA: %[[C:.+]] = call_opaque "xfk_copy"(%arg0, %{{.+}}, %{{.+}}) {args = [0 : index, 1 : index, 2 : index, 512]}
// CUDA-NEXT: verbatim "if ({}) return {};" args %[[C]], %[[C]]
// CUDA: %[[FIN:.+]] = call_opaque "xfk_finish"(%arg0)
// CUDA-NEXT: verbatim "if ({}) return {};" args %[[FIN]], %[[FIN]]
// CUDA: XFM_TARGET_CUDA, &kDeviceOps

// The printed C++: single-use pointers folded into their calls.
// CPP: static int32_t fn_forward(xfk_frame* [[F:v[0-9]+]], const void *const* {{v[0-9]+}}, void *const* {{v[0-9]+}}) {
// CPP: // xformer.relu loc(
// CPP-NEXT: float* [[R:v[0-9]+]] = (float*) ({{v[0-9]+}} + 512);
// CPP-NEXT: int32_t [[RC:v[0-9]+]] = xfk_unary([[F]], XFK_RELU, {{v[0-9]+}}, [[R]], 128);
// CPP-NEXT: if ([[RC]]) return [[RC]];
// CPP: extern "C" __attribute__((visibility("default"))) const xfm_model_desc* xformer_model() {
// CPP-NEXT: return &kModel;

func.func @forward(%x: tensor<2x64xf32>, %ids: tensor<2x1xi64>) -> (tensor<2x64xf32>, tensor<2x1x64xf32>) attributes {xformer.model = #xformer.model<encoder>} {
  %w = xformer.weight @w : tensor<64x64xf32>
  %b = xformer.weight @b : tensor<64xf32>
  %e = xformer.weight @emb : tensor<10x64xf32>
  %y = xformer.linear %x, %w, %b activation gelu : tensor<2x64xf32>, tensor<64x64xf32>, tensor<64xf32> -> tensor<2x64xf32>
  %r = xformer.relu %y : tensor<2x64xf32>
  %t = xformer.embedding %e, %ids : tensor<10x64xf32>, tensor<2x1xi64> -> tensor<2x1x64xf32>
  return %r, %t : tensor<2x64xf32>, tensor<2x1x64xf32>
}
xformer.weight_decl @w : tensor<64x64xf32>
xformer.weight_decl @b : tensor<64xf32>
xformer.weight_decl @emb : tensor<10x64xf32>
