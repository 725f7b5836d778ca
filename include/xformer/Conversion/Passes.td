//===- Passes.td - Conversions out of the xformer dialect --*- tablegen -*-===//

#ifndef XFORMER_CONVERSION_PASSES_TD
#define XFORMER_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertXformerToEmitC : Pass<"xformer-convert-to-emitc", "ModuleOp"> {
  let summary = "Lower a compiled model to EmitC: kernel calls over a "
                "planned scratch buffer and the model's descriptor tables";
  let description = [{
    The last step before printing: the module, after `xformer-cpu-pipeline`
    or `xformer-cuda-pipeline`, becomes EmitC that the upstream C++ emitter
    (`mlir-translate --mlir-to-cpp`, or `xformer-translate --xformer-to-cpp`
    which runs this pass first) prints as the translation unit
    xformer-compile builds. The pass makes no decisions: the scratch offsets
    and views are the ones `xformer-plan-scratch` wrote (checked, or planned
    by the same code when the IR has none), epilogues are the ones
    `xformer-fuse-epilogues` and `xformer-fuse-projections` put on the ops,
    and what the target accepts was checked by `xformer-verify-target`
    (checked again here).

    * Each function becomes `emitc.func @fn_<name>(xfk_frame *, const void
      *const *in, void *const *out) -> i32`: each op one call of the
      target's kernel (`include/xformer/Runtime/KernelContract.def`) with
      its sizes as literals, preceded by a comment naming the op and its
      location and followed by a check of the returned status; each result
      a pointer into the scratch at its planned offset, a view its
      operand's pointer moved by its byte offset; results copied out.
    * Weights are entries of the frame's weight table (`W[i]`), weights
      joined by `xformer-fuse-projections` entries after them; caches are
      entries of `kCaches`; constant tensors and shapes static arrays.
    * The module's tables (weights, joined weights, caches, functions) and
      the `xformer_model` entry point of `xformer/Runtime/ModelABI.h`.

    CPU and CUDA differ only by a table of callees and template arguments
    (the CUDA attention is specialised on its mask kind and head sizes;
    CUDA constants live in device memory, named by `xfk_symbol`; results
    are copied with `xfk_copy` and device errors collected by
    `xfk_finish`).

    ```mlir
    // xformer-opt --xformer-convert-to-emitc
    %y = xformer.relu %x {xformer.scratch = array<i64: 0>} : tensor<2x64xf32>
    // becomes, in @fn_forward:
    //   emitc.verbatim "// xformer.relu loc(...)"
    //   %rc = emitc.call_opaque "xfk_unary"(%f, %x, %y) {args = [0 : index,
    //           #emitc.opaque<"XFK_RELU">, 1 : index, 2 : index, 128]}
    //   emitc.verbatim "if ({}) return {};" args %rc, %rc
    ```
  }];
  let dependentDialects = ["::mlir::emitc::EmitCDialect"];
  let options = [
    Option<"target", "target", "::mlir::xformer::ModelTarget",
           "::mlir::xformer::ModelTarget::cpu",
           "The target whose kernels the calls name",
           [{::llvm::cl::values(
             clEnumValN(::mlir::xformer::ModelTarget::cpu, "cpu",
                        "the CPU kernel library"),
             clEnumValN(::mlir::xformer::ModelTarget::cuda, "cuda",
                        "the CUDA kernels"))}]>,
  ];
}

#endif // XFORMER_CONVERSION_PASSES_TD
