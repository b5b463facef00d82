//===- TensorEval.cpp - the reference evaluator's tensor dialect ops ------===//
//
// tensor ops move elements directly: slices, reshapes, element access,
// concatenation; shapes resolved from the operands at run time.
//
//===----------------------------------------------------------------------===//

#include "EvaluatorImpl.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::quant_xform::io;
using namespace mlir::quant_xform::reference;

/// Resolves mixed static/dynamic sizes (offsets, sizes, strides).
static SmallVector<int64_t> resolveMixed(EvaluatorImpl &ev,
                                         ArrayRef<OpFoldResult> mixed) {
  SmallVector<int64_t> out;
  for (OpFoldResult ofr : mixed) {
    if (auto attr = dyn_cast<Attribute>(ofr))
      out.push_back(cast<IntegerAttr>(attr).getInt());
    else
      out.push_back(ev.lookup(cast<Value>(ofr)).getInt(0));
  }
  return out;
}

/// The same elements under a new shape (reshapes keep row-major order).
static Tensor reshaped(const Tensor &t, ArrayRef<int64_t> shape) {
  Tensor out(shape, t.dtype());
  out.floats() = t.floats();
  out.ints() = t.ints();
  return out;
}

/// The static result shape of `v`, with dynamic sizes taken from `like`.
static SmallVector<int64_t> resultShape(Value v, int64_t numElements) {
  auto type = cast<ShapedType>(v.getType());
  SmallVector<int64_t> shape(type.getShape());
  int64_t known = 1, dynamicDim = -1;
  for (auto [d, s] : llvm::enumerate(shape)) {
    if (ShapedType::isDynamic(s))
      dynamicDim = d;
    else
      known *= s;
  }
  if (dynamicDim >= 0)
    shape[dynamicDim] = known ? numElements / known : 0;
  return shape;
}

/// The index operands of tensor.extract / tensor.insert, checked against
/// `shape` (an error at `op` names the first one out of bounds).
static FailureOr<SmallVector<int64_t>> resolveIndices(EvaluatorImpl &ev,
                                                      Operation *op,
                                                      ValueRange indices,
                                                      ArrayRef<int64_t> shape) {
  SmallVector<int64_t> idx;
  for (Value i : indices)
    idx.push_back(ev.lookup(i).getInt(0));
  for (auto [i, d] : llvm::zip_equal(idx, shape))
    if (i < 0 || i >= d)
      return op->emitOpError() << "index " << i << " out of bounds";
  return idx;
}

/// tensor.extract_slice: a strided window (rank-reducing slices drop unit
/// dimensions).
static LogicalResult evalExtractSlice(EvaluatorImpl &ev,
                                      tensor::ExtractSliceOp s) {
  const Tensor &src = ev.lookup(s.getSource());
  SmallVector<int64_t> offsets = resolveMixed(ev, s.getMixedOffsets());
  SmallVector<int64_t> sizes = resolveMixed(ev, s.getMixedSizes());
  SmallVector<int64_t> strides = resolveMixed(ev, s.getMixedStrides());
  for (int64_t d = 0; d < src.rank(); ++d)
    if (offsets[d] < 0 || sizes[d] < 0 ||
        (sizes[d] > 0 &&
         offsets[d] + (sizes[d] - 1) * strides[d] >= src.shape()[d]))
      return s.emitOpError() << "slice is out of bounds in dim " << d;
  Tensor full(sizes, src.dtype());
  SmallVector<int64_t> srcIdx(src.rank());
  forEachIndex(sizes, [&](ArrayRef<int64_t> idx) {
    for (int64_t d = 0; d < src.rank(); ++d)
      srcIdx[d] = offsets[d] + idx[d] * strides[d];
    setScalar(full, full.flatIndex(idx), scalarAt(src, src.flatIndex(srcIdx)));
  });
  // Rank-reducing slices drop unit dimensions.
  ev.bind(s, reshaped(full, s.getType().getShape()));
  return success();
}

/// tensor.insert_slice: `dest` with a strided window replaced by the source.
static LogicalResult evalInsertSlice(EvaluatorImpl &ev,
                                     tensor::InsertSliceOp s) {
  const Tensor &src = ev.lookup(s.getSource());
  Tensor dest = ev.lookup(s.getDest());
  SmallVector<int64_t> offsets = resolveMixed(ev, s.getMixedOffsets());
  SmallVector<int64_t> sizes = resolveMixed(ev, s.getMixedSizes());
  SmallVector<int64_t> strides = resolveMixed(ev, s.getMixedStrides());
  for (int64_t d = 0; d < dest.rank(); ++d)
    if (offsets[d] < 0 ||
        (sizes[d] > 0 &&
         offsets[d] + (sizes[d] - 1) * strides[d] >= dest.shape()[d]))
      return s.emitOpError() << "slice is out of bounds in dim " << d;
  Tensor srcFull = reshaped(src, sizes);
  SmallVector<int64_t> dstIdx(dest.rank());
  forEachIndex(sizes, [&](ArrayRef<int64_t> idx) {
    for (int64_t d = 0; d < dest.rank(); ++d)
      dstIdx[d] = offsets[d] + idx[d] * strides[d];
    setScalar(dest, dest.flatIndex(dstIdx),
              scalarAt(srcFull, srcFull.flatIndex(idx)));
  });
  ev.bind(s, std::move(dest));
  return success();
}

LogicalResult EvaluatorImpl::evalTensorOp(Operation *op, bool &handled) {
  handled = true;
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case([&](tensor::EmptyOp e) -> LogicalResult {
        FailureOr<DType> dt = valueDType(op, e.getResult());
        if (failed(dt))
          return failure();
        SmallVector<int64_t> shape(e.getType().getShape());
        unsigned dyn = 0;
        for (int64_t &s : shape)
          if (ShapedType::isDynamic(s))
            s = lookup(e.getDynamicSizes()[dyn++]).getInt(0);
        // The contents of tensor.empty are unspecified; zeros are one choice.
        bind(e, Tensor(shape, *dt));
        return success();
      })
      .Case(
          [&](tensor::ExtractSliceOp s) { return evalExtractSlice(*this, s); })
      .Case([&](tensor::InsertSliceOp s) { return evalInsertSlice(*this, s); })
      .Case<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tensor::CastOp>(
          [&](Operation *) -> LogicalResult {
            const Tensor &src = lookup(op->getOperand(0));
            bind(op->getResult(0),
                 reshaped(src,
                          resultShape(op->getResult(0), src.numElements())));
            return success();
          })
      .Case([&](tensor::ReshapeOp r) -> LogicalResult {
        const Tensor &src = lookup(r.getSource());
        const Tensor &shapeT = lookup(r.getShape());
        SmallVector<int64_t> shape(shapeT.ints().begin(), shapeT.ints().end());
        int64_t n = 1;
        for (int64_t d : shape)
          n *= d;
        if (n != src.numElements())
          return op->emitOpError() << "reshape changes the element count";
        bind(r, reshaped(src, shape));
        return success();
      })
      .Case([&](tensor::SplatOp s) -> LogicalResult {
        const Tensor &v = lookup(s.getInput());
        Tensor out(s.getType().getShape(), v.dtype());
        for (int64_t k = 0, n = out.numElements(); k < n; ++k)
          setScalar(out, k, scalarAt(v, 0));
        bind(s, std::move(out));
        return success();
      })
      .Case([&](tensor::FromElementsOp f) -> LogicalResult {
        FailureOr<DType> dt = valueDType(op, f.getResult());
        if (failed(dt))
          return failure();
        Tensor out(f.getType().getShape(), *dt);
        for (auto [k, v] : llvm::enumerate(f.getElements()))
          setScalar(out, k, scalarAt(lookup(v), 0));
        bind(f, std::move(out));
        return success();
      })
      .Case([&](tensor::ExtractOp e) -> LogicalResult {
        const Tensor &src = lookup(e.getTensor());
        FailureOr<SmallVector<int64_t>> idx =
            resolveIndices(*this, op, e.getIndices(), src.shape());
        if (failed(idx))
          return failure();
        Tensor out({}, src.dtype());
        setScalar(out, 0, scalarAt(src, src.flatIndex(*idx)));
        bind(e, std::move(out));
        return success();
      })
      .Case([&](tensor::InsertOp ins) -> LogicalResult {
        Tensor dest = lookup(ins.getDest());
        FailureOr<SmallVector<int64_t>> idx =
            resolveIndices(*this, op, ins.getIndices(), dest.shape());
        if (failed(idx))
          return failure();
        setScalar(dest, dest.flatIndex(*idx),
                  scalarAt(lookup(ins.getScalar()), 0));
        bind(ins, std::move(dest));
        return success();
      })
      .Case([&](tensor::DimOp d) -> LogicalResult {
        const Tensor &src = lookup(d.getSource());
        int64_t dim = lookup(d.getIndex()).getInt(0);
        if (dim < 0 || dim >= src.rank())
          return op->emitOpError() << "dimension " << dim << " out of range";
        bind(d, Tensor::scalarInt(src.shape()[dim], DType::I64));
        return success();
      })
      .Case([&](tensor::ConcatOp c) -> LogicalResult {
        int64_t dim = c.getDim();
        SmallVector<int64_t> shape(lookup(c.getInputs()[0]).shape());
        shape[dim] = 0;
        for (Value v : c.getInputs())
          shape[dim] += lookup(v).shape()[dim];
        Tensor out(shape, lookup(c.getInputs()[0]).dtype());
        int64_t offset = 0;
        for (Value v : c.getInputs()) {
          const Tensor &in = lookup(v);
          SmallVector<int64_t> dst;
          forEachIndex(in.shape(), [&](ArrayRef<int64_t> idx) {
            dst.assign(idx.begin(), idx.end());
            dst[dim] += offset;
            setScalar(out, out.flatIndex(dst), scalarAt(in, in.flatIndex(idx)));
          });
          offset += in.shape()[dim];
        }
        bind(c, std::move(out));
        return success();
      })
      .Default([&](Operation *) {
        handled = false;
        return success();
      });
}
