//===- XformerAttrs.cpp - xformer attributes ------------------------------===//

#include "xformer/IR/XformerAttrs.h"
#include "xformer/IR/XformerDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::xformer;

#include "xformer/IR/XformerEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "xformer/IR/XformerAttrs.cpp.inc"

void XformerDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "xformer/IR/XformerAttrs.cpp.inc"
      >();
}

LogicalResult XformerDialect::verifyOperationAttribute(Operation *op,
                                                      NamedAttribute attr) {
  if (attr.getName() == kModelAttrName) {
    if (!isa<ModelKindAttr>(attr.getValue()))
      return op->emitError() << "'" << kModelAttrName
                             << "' expects #xformer.model<encoder | decoder | "
                                "encoder_decoder>, got "
                             << attr.getValue();
    if (!isa<FunctionOpInterface>(op))
      return op->emitError() << "'" << kModelAttrName
                             << "' is only valid on a function";
    return success();
  }
  if (attr.getName() == kKVPlanAttrName) {
    if (!isa<DictionaryAttr>(attr.getValue()) || !isa<ModuleOp>(op))
      return op->emitError() << "'" << kKVPlanAttrName
                             << "' must be a dictionary on a module";
    return success();
  }
  if (attr.getName() == kScratchAttrName ||
      attr.getName() == kScratchTempsAttrName) {
    if (!isa<DenseI64ArrayAttr>(attr.getValue()) || isa<FunctionOpInterface>(op))
      return op->emitError() << "'" << attr.getName().getValue()
                             << "' must be an array<i64> of byte offsets on "
                                "an op in a function";
    return success();
  }
  if (attr.getName() == kViewAttrName) {
    auto offset = dyn_cast<IntegerAttr>(attr.getValue());
    if (!offset || offset.getInt() < 0 || op->getNumResults() != 1 ||
        op->getNumOperands() < 1)
      return op->emitError() << "'" << kViewAttrName
                             << "' must be a byte offset (>= 0) on an op "
                                "with one result and an operand";
    return success();
  }
  if (attr.getName() == kScratchBytesAttrName) {
    auto bytes = dyn_cast<IntegerAttr>(attr.getValue());
    if (!bytes || bytes.getInt() < 0 || !isa<FunctionOpInterface>(op))
      return op->emitError() << "'" << kScratchBytesAttrName
                             << "' must be a byte count (>= 0) on a function";
    return success();
  }
  return op->emitError() << "unknown xformer attribute '"
                         << attr.getName().getValue() << "'";
}

// The ODS enum and the dependency-free semantic enum share one numbering.
#define XFORMER_SAME_KIND(ods, sem)                                            \
  static_assert(static_cast<uint32_t>(MaskKind::ods) ==                        \
                    static_cast<uint32_t>(mask::Kind::sem),                    \
                "MaskKind numbering diverged from mask::Kind");
XFORMER_SAME_KIND(bidirectional, Bidirectional)
XFORMER_SAME_KIND(causal, Causal)
XFORMER_SAME_KIND(prefix_lm, PrefixLM)
XFORMER_SAME_KIND(sliding_window, SlidingWindow)
XFORMER_SAME_KIND(cross, Cross)
XFORMER_SAME_KIND(custom, Custom)
#undef XFORMER_SAME_KIND

bool MaskAttr::hasDynamicPrefix() const {
  return getKind() == MaskKind::prefix_lm &&
         ShapedType::isDynamic(getPrefix());
}

mask::Spec MaskAttr::getSpec(int64_t runtimePrefix) const {
  mask::Spec spec;
  spec.kind = toSemanticKind(getKind());
  spec.window = getWindow();
  spec.prefix = hasDynamicPrefix() ? runtimePrefix : getPrefix();
  spec.documents = getDocuments();
  return spec;
}

LogicalResult MaskAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               MaskKind kind, int64_t window, int64_t prefix,
                               bool documents) {
  if (documents && (kind == MaskKind::cross || kind == MaskKind::custom))
    return emitError() << "'documents' does not apply to "
                       << stringifyMaskKind(kind) << " masks";
  if (kind == MaskKind::sliding_window) {
    if (window <= 0)
      return emitError() << "sliding_window mask requires a positive window, "
                            "got "
                         << window;
  } else if (window != 0) {
    return emitError() << "'window' is only valid for sliding_window masks, "
                          "not "
                       << stringifyMaskKind(kind);
  }
  if (kind == MaskKind::prefix_lm) {
    if (!ShapedType::isDynamic(prefix) && prefix <= 0)
      return emitError() << "prefix_lm mask requires a positive prefix length "
                            "or '?' for a runtime value, got "
                         << prefix;
  } else if (prefix != 0) {
    return emitError() << "'prefix' is only valid for prefix_lm masks, not "
                       << stringifyMaskKind(kind);
  }
  return success();
}

// #xformer.mask<kind (, key = value)*>
Attribute MaskAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef kindName;
  if (parser.parseLess() || parser.parseKeyword(&kindName))
    return {};
  std::optional<MaskKind> kind = symbolizeMaskKind(kindName);
  if (!kind) {
    parser.emitError(loc) << "unknown mask kind '" << kindName
                          << "'; expected one of bidirectional, causal, "
                             "prefix_lm, sliding_window, cross, custom";
    return {};
  }
  int64_t window = 0, prefix = 0;
  bool sawWindow = false, sawPrefix = false, documents = false;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key))
      return {};
    if (key == "documents") {
      if (documents) {
        parser.emitError(keyLoc) << "duplicate 'documents' in mask";
        return {};
      }
      documents = true;
      continue;
    }
    if (parser.parseEqual())
      return {};
    if (key == "window") {
      if (sawWindow) {
        parser.emitError(keyLoc) << "duplicate 'window' in mask";
        return {};
      }
      sawWindow = true;
      if (parser.parseInteger(window))
        return {};
    } else if (key == "prefix") {
      if (sawPrefix) {
        parser.emitError(keyLoc) << "duplicate 'prefix' in mask";
        return {};
      }
      sawPrefix = true;
      if (succeeded(parser.parseOptionalQuestion()))
        prefix = ShapedType::kDynamic;
      else if (parser.parseInteger(prefix))
        return {};
    } else {
      parser.emitError(keyLoc) << "unknown mask parameter '" << key
                               << "'; expected 'window', 'prefix' or "
                                  "'documents'";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  if (*kind == MaskKind::sliding_window && !sawWindow) {
    parser.emitError(loc) << "sliding_window mask requires 'window = N'";
    return {};
  }
  if (*kind == MaskKind::prefix_lm && !sawPrefix) {
    parser.emitError(loc)
        << "prefix_lm mask requires 'prefix = N' or 'prefix = ?'";
    return {};
  }
  return MaskAttr::getChecked([&] { return parser.emitError(loc); },
                              parser.getContext(), *kind, window, prefix,
                              documents);
}

void MaskAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyMaskKind(getKind());
  if (getKind() == MaskKind::sliding_window)
    printer << ", window = " << getWindow();
  if (getKind() == MaskKind::prefix_lm) {
    printer << ", prefix = ";
    if (hasDynamicPrefix())
      printer << "?";
    else
      printer << getPrefix();
  }
  if (getDocuments())
    printer << ", documents";
  printer << ">";
}

//===----------------------------------------------------------------------===//
// RopeScalingAttr
//===----------------------------------------------------------------------===//

// #xformer.rope_scaling<KIND, factor = F [, low_freq_factor = L,
//   high_freq_factor = H, original_max_positions = N]>
Attribute RopeScalingAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<RopeScalingKind> kind = symbolizeRopeScalingKind(keyword);
  if (!kind) {
    parser.emitError(loc, "unknown rope scaling '")
        << keyword << "' (linear, llama3)";
    return {};
  }
  double factor = 0.0, low = 1.0, high = 4.0;
  int64_t original = 0;
  if (parser.parseComma() || parser.parseKeyword("factor") ||
      parser.parseEqual() || parser.parseFloat(factor))
    return {};
  while (succeeded(parser.parseOptionalComma())) {
    StringRef name;
    SMLoc at = parser.getCurrentLocation();
    if (parser.parseKeyword(&name) || parser.parseEqual())
      return {};
    if (name == "low_freq_factor" ? failed(parser.parseFloat(low))
        : name == "high_freq_factor"
            ? failed(parser.parseFloat(high))
        : name == "original_max_positions"
            ? failed(parser.parseInteger(original))
            : (parser.emitError(at, "unknown rope scaling parameter '")
                   << name << "'",
               true))
      return {};
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<RopeScalingAttr>(
      loc, parser.getContext(), *kind, APFloat(factor), APFloat(low),
      APFloat(high), original);
}

void RopeScalingAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyRopeScalingKind(getKind()) << ", factor = ";
  printer.printFloat(getFactor());
  if (getKind() == RopeScalingKind::llama3) {
    printer << ", low_freq_factor = ";
    printer.printFloat(getLowFreqFactor());
    printer << ", high_freq_factor = ";
    printer.printFloat(getHighFreqFactor());
    printer << ", original_max_positions = " << getOriginalMaxPositions();
  }
  printer << ">";
}

LogicalResult
RopeScalingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        RopeScalingKind kind, APFloat factorF,
                        APFloat lowF, APFloat highF,
                        int64_t originalMaxPositions) {
  double factor = factorF.convertToDouble();
  double lowFreqFactor = lowF.convertToDouble();
  double highFreqFactor = highF.convertToDouble();
  if (!(factor > 0.0) || !std::isfinite(factor))
    return emitError() << "rope scaling factor must be positive and finite, got "
                       << factor;
  if (kind != RopeScalingKind::llama3)
    return success();
  if (originalMaxPositions <= 0)
    return emitError() << "llama3 rope scaling needs original_max_positions > 0";
  if (!(lowFreqFactor > 0.0) || !(highFreqFactor > lowFreqFactor) ||
      !std::isfinite(highFreqFactor))
    return emitError() << "llama3 rope scaling needs 0 < low_freq_factor < "
                          "high_freq_factor, got "
                       << lowFreqFactor << " and " << highFreqFactor;
  return success();
}
