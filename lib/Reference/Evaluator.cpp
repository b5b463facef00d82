//===- Evaluator.cpp - the reference evaluator: func, tensor, linalg ------===//
//
// Interprets a function op by op. Every linalg structured op (generic and
// the named ops, whose payload regions define their maths) is run point by
// point over its iteration domain; tensor ops move elements directly.
//
//===----------------------------------------------------------------------===//

#include "EvaluatorImpl.h"

#include "quant-xform/Support/Matrix.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <cstring>
#include <random>

using namespace mlir;
using namespace mlir::quant_xform::io;
using namespace mlir::quant_xform::reference;

ObserveHook::~ObserveHook() = default;

/// Calls nested deeper than this are reported as runaway recursion.
static constexpr unsigned kMaxCallDepth = 64;
/// Tensors larger than this are refused: the evaluator is for small tensors.
static constexpr int64_t kMaxElements = int64_t(1) << 28;

FailureOr<SmallVector<Tensor>> Evaluator::run(StringRef function,
                                              ArrayRef<Tensor> args) {
  Operation *fn = SymbolTable::lookupSymbolIn(module, function);
  if (!fn || !isa<func::FuncOp>(fn))
    return module.emitError() << "no function named '" << function << "'";
  EvaluatorImpl impl(*this);
  return impl.call(fn, args, 0);
}

const Tensor &EvaluatorImpl::lookup(Value v) const {
  auto it = frames.back().find(v);
  assert(it != frames.back().end() && "value used before it was evaluated");
  return it->second;
}

/// Checks that `t` has the static shape and dtype of `type`.
static LogicalResult checkMatchesType(Operation *op, const Tensor &t, Type type,
                                      StringRef what) {
  auto shaped = dyn_cast<ShapedType>(type);
  ArrayRef<int64_t> shape = shaped ? shaped.getShape() : ArrayRef<int64_t>();
  Type elem = shaped ? shaped.getElementType() : type;
  FailureOr<DType> dtype = dtypeOf(elem);
  bool shapeOk = t.rank() == static_cast<int64_t>(shape.size());
  for (int64_t d = 0; shapeOk && d < t.rank(); ++d)
    shapeOk = ShapedType::isDynamic(shape[d]) || shape[d] == t.shape()[d];
  if (shapeOk && succeeded(dtype) && *dtype == t.dtype())
    return success();
  std::string got;
  llvm::raw_string_ostream os(got);
  os << "[";
  llvm::interleaveComma(t.shape(), os);
  os << "] " << dtypeName(t.dtype());
  return op->emitOpError() << what << " has shape/dtype " << got
                           << ", expected " << type;
}

FailureOr<SmallVector<Tensor>>
EvaluatorImpl::call(Operation *op, ArrayRef<Tensor> args, unsigned depth) {
  auto fn = cast<func::FuncOp>(op);
  if (depth > kMaxCallDepth)
    return fn.emitOpError()
           << "call depth exceeds " << kMaxCallDepth << " (runaway recursion?)";
  if (fn.isExternal())
    return fn.emitOpError() << "has no body to evaluate";
  if (!fn.getBody().hasOneBlock())
    return fn.emitOpError()
           << "has control flow (several blocks), which the reference "
              "evaluator does not model";
  Block &body = fn.getBody().front();
  if (args.size() != body.getNumArguments())
    return fn.emitOpError() << "takes " << body.getNumArguments()
                            << " arguments, got " << args.size();
  frames.emplace_back();
  llvm::scope_exit popFrame([&] { frames.pop_back(); });
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    if (failed(checkMatchesType(fn, args[i], arg.getType(),
                                "argument #" + std::to_string(i))))
      return failure();
    bind(arg, args[i]);
  }
  for (Operation &inner : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(inner)) {
      SmallVector<Tensor> results;
      for (Value v : ret.getOperands())
        results.push_back(lookup(v));
      return results;
    }
    if (auto callOp = dyn_cast<func::CallOp>(inner)) {
      Operation *callee =
          SymbolTable::lookupNearestSymbolFrom(callOp, callOp.getCalleeAttr());
      if (!callee || !isa<func::FuncOp>(callee))
        return callOp.emitOpError() << "callee not found";
      SmallVector<Tensor> callArgs;
      for (Value v : callOp.getOperands())
        callArgs.push_back(lookup(v));
      FailureOr<SmallVector<Tensor>> res = call(callee, callArgs, depth + 1);
      if (failed(res))
        return failure();
      for (auto [v, t] : llvm::zip_equal(callOp.getResults(), *res))
        bind(v, std::move(t));
      continue;
    }
    if (failed(evalOp(&inner)))
      return failure();
  }
  return fn.emitOpError() << "body has no func.return";
}

LogicalResult EvaluatorImpl::evalOp(Operation *op) {
  for (Value r : op->getResults())
    if (auto shaped = dyn_cast<ShapedType>(r.getType()))
      if (shaped.hasStaticShape() && shaped.getNumElements() > kMaxElements)
        return op->emitOpError()
               << "result has " << shaped.getNumElements()
               << " elements: too large for the reference evaluator";
  if (isa<arith::ConstantOp>(op))
    return evalConstant(op);
  if (isElementwiseScalarOp(op))
    return evalElementwise(op);
  bool handled = false;
  if (failed(evalQuantXformOp(op, handled)))
    return failure();
  if (handled)
    return success();
  if (failed(evalTensorOp(op, handled)))
    return failure();
  if (handled)
    return success();
  if (isa<linalg::SoftmaxOp>(op))
    return evalSoftmax(op);
  if (isa<linalg::LinalgOp>(op))
    return evalLinalgStructured(op);
  return op->emitOpError() << "is not supported by the reference evaluator";
}

//===----------------------------------------------------------------------===//
// Constants and elementwise arith/math
//===----------------------------------------------------------------------===//

/// The values of a float constant into `t`; f32 and f64 read as C++ values
/// (element by element through APFloat costs ~50 ns a value, which was a
/// large part of a decoder layer's calibration).
static void fillFloats(Tensor &t, DenseFPElementsAttr dense) {
  std::vector<double> values = quant_xform::getFloatValues(dense);
  for (auto [k, v] : llvm::enumerate(values))
    t.setFloat(static_cast<int64_t>(k), v);
}

/// The values of an integer constant into `t`, sign- or zero-extended;
/// 8- and 32-bit elements read as C++ values.
static void fillInts(Tensor &t, DenseElementsAttr dense, bool isUnsigned) {
  int64_t n = t.numElements();
  Type elem = dense.getElementType();
  auto fill = [&](auto values) {
    if (failed(values))
      return false;
    for (int64_t k = 0; k < n; ++k)
      t.setInt(k, static_cast<int64_t>((*values)[k]));
    return true;
  };
  if (elem.isInteger(8) && (isUnsigned ? fill(dense.tryGetValues<uint8_t>())
                                       : fill(dense.tryGetValues<int8_t>())))
    return;
  if (elem.isInteger(32) && !isUnsigned && fill(dense.tryGetValues<int32_t>()))
    return;
  auto values = dense.getValues<APInt>();
  for (int64_t k = 0; k < n; ++k)
    t.setInt(k,
             isUnsigned ? values[k].getZExtValue() : values[k].getSExtValue());
}

LogicalResult EvaluatorImpl::evalConstant(Operation *op) {
  auto cst = cast<arith::ConstantOp>(op);
  FailureOr<DType> dtype = valueDType(op, cst.getResult());
  if (failed(dtype))
    return failure();
  Attribute value = cst.getValue();
  if (auto fa = dyn_cast<FloatAttr>(value)) {
    bind(cst, Tensor::scalarFloat(fa.getValueAsDouble(), *dtype));
    return success();
  }
  if (auto ia = dyn_cast<IntegerAttr>(value)) {
    bind(cst, Tensor::scalarInt(wrapInt(ia.getValue().getSExtValue(), *dtype),
                                *dtype));
    return success();
  }
  auto type = cast<ShapedType>(cst.getType());
  Tensor t(type.getShape(), *dtype);
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    if (t.isFloat())
      fillFloats(t, cast<DenseFPElementsAttr>(dense));
    else
      fillInts(t, dense, *dtype == DType::U8 || *dtype == DType::I1);
    bind(cst, std::move(t));
    return success();
  }
  if (auto blob = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *data = blob.getRawHandle().getBlob();
    if (!data)
      return op->emitOpError() << "dense_resource blob is missing";
    ArrayRef<char> bytes = data->getData();
    int64_t n = t.numElements();
    size_t elemBytes = storageBytes(*dtype);
    if (bytes.size() != static_cast<size_t>(n) * elemBytes)
      return op->emitOpError() << "dense_resource blob holds " << bytes.size()
                               << " bytes, expected " << n * elemBytes;
    for (int64_t k = 0; k < n; ++k)
      t.loadElement(k, bytes.data() + k * elemBytes);
    bind(cst, std::move(t));
    return success();
  }
  return op->emitOpError() << "constant kind is not supported by the "
                              "reference evaluator";
}

LogicalResult EvaluatorImpl::evalElementwise(Operation *op) {
  if (op->getNumResults() != 1)
    return op->emitOpError() << "is not supported by the reference evaluator";
  SmallVector<const Tensor *> operands;
  SmallVector<DType> types;
  for (Value v : op->getOperands()) {
    operands.push_back(&lookup(v));
    types.push_back(operands.back()->dtype());
  }
  FailureOr<DType> rt = valueDType(op, op->getResult(0));
  if (failed(rt))
    return failure();
  // arith/math on tensors are elementwise over operands of one shape
  // (a select's condition may be a scalar).
  ArrayRef<int64_t> shape;
  for (const Tensor *t : operands)
    if (t->rank() > 0)
      shape = t->shape();
  for (const Tensor *t : operands)
    if (t->rank() > 0 && t->shape() != shape)
      return op->emitOpError() << "operands have different shapes";
  Tensor out(shape, *rt);
  SmallVector<Scalar> args(operands.size());
  for (int64_t k = 0, n = out.numElements(); k < n; ++k) {
    for (auto [a, t] : llvm::zip_equal(args, operands))
      a = scalarAt(*t, t->rank() == 0 ? 0 : k);
    FailureOr<Scalar> r = evalScalarOp(op, args, types, *rt);
    if (failed(r))
      return failure();
    setScalar(out, k, *r);
  }
  bind(op->getResult(0), std::move(out));
  return success();
}

//===----------------------------------------------------------------------===//
// tensor dialect (the ops: TensorEval.cpp)
//===----------------------------------------------------------------------===//

void mlir::quant_xform::reference::forEachIndex(
    ArrayRef<int64_t> shape, function_ref<void(ArrayRef<int64_t>)> fn) {
  for (int64_t d : shape)
    if (d == 0)
      return;
  SmallVector<int64_t> idx(shape.size(), 0);
  while (true) {
    fn(idx);
    int64_t d = static_cast<int64_t>(shape.size()) - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < shape[d])
        break;
      idx[d] = 0;
    }
    if (d < 0)
      return;
  }
}

//===----------------------------------------------------------------------===//
// linalg
//===----------------------------------------------------------------------===//

/// Evaluates an affine expression at the given dimension values.
static int64_t evalAffine(AffineExpr e, ArrayRef<int64_t> dims) {
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return dims[d.getPosition()];
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return c.getValue();
  auto bin = cast<AffineBinaryOpExpr>(e);
  int64_t l = evalAffine(bin.getLHS(), dims),
          r = evalAffine(bin.getRHS(), dims);
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return l + r;
  case AffineExprKind::Mul:
    return l * r;
  case AffineExprKind::Mod:
    return ((l % r) + r) % r;
  case AffineExprKind::FloorDiv:
    return l / r - ((l % r != 0) && ((l < 0) != (r < 0)));
  case AffineExprKind::CeilDiv:
    return l / r + ((l % r != 0) && ((l < 0) == (r < 0)));
  default:
    llvm_unreachable("symbols are not used by structured ops here");
  }
}

/// Float `linalg.matmul` / `linalg.batch_matmul` with their default maps,
/// computed directly: the same float64 arithmetic in the same order (k
/// innermost, ascending) as the generic interpreter, without its
/// per-iteration payload dispatch. Null when `op` is not one.
static std::optional<Tensor> directMatmul(Operation *op, const Tensor &a,
                                          const Tensor &b, const Tensor &c) {
  bool batched = isa<linalg::BatchMatmulOp>(op);
  if (auto mm = dyn_cast<linalg::MatmulOp>(op); mm && mm.hasUserDefinedMaps())
    return std::nullopt;
  if (auto bm = dyn_cast<linalg::BatchMatmulOp>(op);
      bm && bm.hasUserDefinedMaps())
    return std::nullopt;
  if (!batched && !isa<linalg::MatmulOp>(op))
    return std::nullopt;
  if (!a.isFloat() || !b.isFloat() || !c.isFloat())
    return std::nullopt;
  int64_t off = batched ? 1 : 0, nb = batched ? a.shape()[0] : 1;
  int64_t m = a.shape()[off], k = a.shape()[off + 1], n = b.shape()[off + 1];
  Tensor out = c;
  for (int64_t bi = 0; bi < nb; ++bi)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int64_t o = (bi * m + i) * n + j;
        double acc = out.getFloat(o);
        for (int64_t l = 0; l < k; ++l)
          acc += a.getFloat((bi * m + i) * k + l) *
                 b.getFloat((bi * k + l) * n + j);
        out.setFloat(o, acc);
      }
  return out;
}

LogicalResult EvaluatorImpl::evalLinalgStructured(Operation *op) {
  auto linalgOp = cast<linalg::LinalgOp>(op);
  if (!linalgOp.hasPureTensorSemantics())
    return op->emitOpError()
           << "reference evaluator supports linalg on tensors only";
  // Precision emulation rounds every payload step: keep the interpreter.
  if (!parent.emulatePrecision && linalgOp.getNumDpsInputs() == 2 &&
      linalgOp.getNumDpsInits() == 1) {
    if (std::optional<Tensor> out =
            directMatmul(op, lookup(linalgOp.getDpsInputs()[0]),
                         lookup(linalgOp.getDpsInputs()[1]),
                         lookup(linalgOp.getDpsInits()[0]))) {
      bind(op->getResult(0), std::move(*out));
      return success();
    }
  }
  Block *body = linalgOp.getBlock();
  if (!body)
    return op->emitOpError() << "has no payload region";

  // Loop bounds: the shapes-to-loops map applied to the actual shapes.
  SmallVector<int64_t> allDims;
  for (OpOperand &operand : op->getOpOperands()) {
    const Tensor &t = lookup(operand.get());
    allDims.append(t.shape().begin(), t.shape().end());
  }
  AffineMap shapesToLoops = linalgOp.getShapesToLoopsMap();
  if (!shapesToLoops)
    return op->emitOpError() << "has non-invertible indexing maps";
  SmallVector<int64_t> bounds;
  for (AffineExpr e : shapesToLoops.getResults())
    bounds.push_back(evalAffine(e, allDims));

  // Outputs start as copies of the inits (value semantics).
  SmallVector<Tensor> outputs;
  for (OpOperand &init : linalgOp.getDpsInitsMutable())
    outputs.push_back(lookup(init.get()));
  SmallVector<AffineMap> maps = linalgOp.getIndexingMapsArray();
  unsigned numInputs = linalgOp.getNumDpsInputs();

  // Payload values live in slots: block arguments first, then op results.
  llvm::DenseMap<Value, unsigned> slotOf;
  for (BlockArgument arg : body->getArguments())
    slotOf[arg] = slotOf.size();
  struct Step {
    Operation *op;
    SmallVector<int> operandSlots; // -1: captured from outside
    SmallVector<DType> operandTypes;
    DType resultType;
    unsigned resultSlot;
  };
  SmallVector<Step> steps;
  SmallVector<Scalar> captured;
  llvm::DenseMap<Value, unsigned> capturedIndex;
  Operation *yield = body->getTerminator();
  for (Operation &inner : body->without_terminator()) {
    if (inner.getNumResults() != 1)
      return inner.emitOpError() << "is not supported in a linalg payload";
    Step step{&inner, {}, {}, DType::F64, 0};
    for (Value v : inner.getOperands()) {
      FailureOr<DType> dt = valueDType(&inner, v);
      if (failed(dt))
        return failure();
      step.operandTypes.push_back(*dt);
      auto it = slotOf.find(v);
      if (it != slotOf.end()) {
        step.operandSlots.push_back(it->second);
        continue;
      }
      // A value from outside the payload: a scalar bound in the frame.
      auto [cit, inserted] = capturedIndex.try_emplace(v, captured.size());
      if (inserted)
        captured.push_back(scalarAt(lookup(v), 0));
      step.operandSlots.push_back(-1 - static_cast<int>(cit->second));
    }
    FailureOr<DType> rt = valueDType(&inner, inner.getResult(0));
    if (failed(rt))
      return failure();
    if (!isa<linalg::IndexOp>(inner) && !isElementwiseScalarOp(&inner) &&
        !isa<arith::ConstantOp>(inner))
      return inner.emitOpError() << "is not supported in a linalg payload";
    step.resultType = *rt;
    step.resultSlot = slotOf.size();
    slotOf[inner.getResult(0)] = step.resultSlot;
    steps.push_back(std::move(step));
  }
  SmallVector<unsigned> yieldSlots;
  for (Value v : yield->getOperands()) {
    auto it = slotOf.find(v);
    if (it == slotOf.end())
      return yield->emitOpError() << "yields a value defined outside the "
                                     "payload, which is not supported";
    yieldSlots.push_back(it->second);
  }

  SmallVector<Scalar> slots(slotOf.size());
  SmallVector<SmallVector<int64_t>> operandIdx(maps.size());
  SmallVector<Scalar> args;
  LogicalResult status = success();
  forEachIndex(bounds, [&](ArrayRef<int64_t> point) {
    if (failed(status))
      return;
    for (unsigned k = 0; k < maps.size(); ++k) {
      SmallVector<int64_t> &idx = operandIdx[k];
      idx.clear();
      for (AffineExpr e : maps[k].getResults())
        idx.push_back(evalAffine(e, point));
      const Tensor &t =
          k < numInputs ? lookup(op->getOperand(k)) : outputs[k - numInputs];
      slots[k] = scalarAt(t, t.rank() == 0 ? 0 : t.flatIndex(idx));
    }
    for (Step &step : steps) {
      if (auto index = dyn_cast<linalg::IndexOp>(step.op)) {
        slots[step.resultSlot].i = point[index.getDim()];
        continue;
      }
      if (auto cst = dyn_cast<arith::ConstantOp>(step.op)) {
        Attribute v = cst.getValue();
        if (auto fa = dyn_cast<FloatAttr>(v))
          slots[step.resultSlot].f = fa.getValueAsDouble();
        else
          slots[step.resultSlot].i = cast<IntegerAttr>(v).getInt();
        continue;
      }
      args.clear();
      for (int s : step.operandSlots)
        args.push_back(s >= 0 ? slots[s] : captured[-1 - s]);
      FailureOr<Scalar> r =
          evalScalarOp(step.op, args, step.operandTypes, step.resultType);
      if (failed(r)) {
        status = failure();
        return;
      }
      if (parent.emulatePrecision && isFloat(step.resultType))
        r->f = roundToPrecision(r->f, step.resultType);
      slots[step.resultSlot] = *r;
    }
    for (auto [o, slot] : llvm::enumerate(yieldSlots)) {
      Tensor &out = outputs[o];
      const SmallVector<int64_t> &idx = operandIdx[numInputs + o];
      setScalar(out, out.rank() == 0 ? 0 : out.flatIndex(idx), slots[slot]);
    }
  });
  if (failed(status))
    return failure();
  for (auto [r, t] : llvm::zip_equal(op->getResults(), outputs))
    bind(r, std::move(t));
  return success();
}

LogicalResult EvaluatorImpl::evalSoftmax(Operation *op) {
  auto softmax = cast<linalg::SoftmaxOp>(op);
  const Tensor &in = lookup(softmax.getInput());
  int64_t dim = softmax.getDimension();
  Tensor out(in.shape(), lookup(softmax.getOutput()).dtype());
  SmallVector<int64_t> outer(in.shape());
  int64_t len = outer[dim];
  outer[dim] = 1;
  int64_t stride = in.strides()[dim];
  // y = exp(x − max) / Σ exp(x − max) along `dim`.
  forEachIndex(outer, [&](ArrayRef<int64_t> idx) {
    int64_t base = in.flatIndex(idx);
    double m = -INFINITY;
    for (int64_t k = 0; k < len; ++k)
      m = std::max(m, in.getFloat(base + k * stride));
    double sum = 0.0;
    for (int64_t k = 0; k < len; ++k)
      sum += std::exp(in.getFloat(base + k * stride) - m);
    for (int64_t k = 0; k < len; ++k)
      out.setFloat(base + k * stride,
                   std::exp(in.getFloat(base + k * stride) - m) / sum);
  });
  bind(softmax.getResult()[0], std::move(out));
  return success();
}

//===----------------------------------------------------------------------===//
// Random arguments
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<Tensor>>
mlir::quant_xform::reference::makeRandomArguments(ModuleOp module,
                                                  StringRef function,
                                                  uint64_t seed) {
  auto fn = dyn_cast_or_null<func::FuncOp>(
      SymbolTable::lookupSymbolIn(module, function));
  if (!fn)
    return module.emitError() << "no function named '" << function << "'";
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  SmallVector<Tensor> args;
  for (Type type : fn.getArgumentTypes()) {
    auto shaped = dyn_cast<ShapedType>(type);
    Type elem = shaped ? shaped.getElementType() : type;
    FailureOr<DType> dt = dtypeOf(elem);
    if (failed(dt))
      return fn.emitOpError() << "cannot make random values of type " << type;
    if (shaped && !shaped.hasStaticShape())
      return fn.emitOpError() << "cannot make random values of dynamic shape "
                              << type << "; pass inputs explicitly";
    Tensor t(shaped ? shaped.getShape() : ArrayRef<int64_t>(), *dt);
    for (int64_t k = 0, n = t.numElements(); k < n; ++k) {
      if (t.isFloat()) {
        t.setFloat(k, roundToPrecision(normal(rng), *dt));
        continue;
      }
      int64_t lo = *dt == DType::U8 ? 0 : *dt == DType::I1 ? 0 : -127;
      int64_t hi = *dt == DType::U8 ? 255 : *dt == DType::I1 ? 1 : 127;
      t.setInt(k, std::uniform_int_distribution<int64_t>(lo, hi)(rng));
    }
    args.push_back(std::move(t));
  }
  return args;
}
