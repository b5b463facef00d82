//===- GatedPairs.cpp - gate and up projections as one GEMM ---------------===//
//
// In a whole model, SwiGLU reads two linears of the same quantized input:
//
//   %g = qlinear %q scale %s, %Wg scale %sg      [M, F]
//   %a = linalg.generic silu(%g)                 (gate's fused activation)
//   %u = qlinear %q scale %s, %Wu scale %su      [M, F]
//   %h = arith.mulf %a, %u
//
// Two GEMMs then write and read %a in f32 (2·M·F·4 bytes). Here they
// become one qlinear over both weights, their rows interleaved in blocks of
// H = 16 (16 gate rows, then the 16 up rows of the same outputs), and a
// `linalg.generic` reading the [M, 2F] result at both halves:
//
//   h[m, n] = act(gu[m, ⌊n/H⌋·2H + n mod H]) · gu[m, ⌊n/H⌋·2H + H + n mod H]
//
// Where the wgmma kernel of the fused linear takes whole tiles of f32
// results (static M a multiple of its rows; its tile N is a multiple of
// 2H), the generic is marked `quant_xform.gated_pairs = H` and the GEMM's
// epilogue computes it from its accumulators (GemmShape::gatedHalf): each
// tile holds both halves of the same outputs. Elsewhere (a decode step's
// few rows) it runs as a loop kernel. H does not depend on the shape, so
// every compiled shape of a model reads the same weight file. Every value
// is computed by the same operations as before (the dequantize of each
// product, the activation, the product), so the results are the same
// bits. Only for constant weights and F a multiple of H.
//
//===----------------------------------------------------------------------===//

#include "KernelLowering.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::quant_xform;
using namespace mlir::quant_xform::gpu_lowering;

int64_t gpu_lowering::gatedPairsHalf(Operation *act) {
  auto h = act ? act->getAttrOfType<IntegerAttr>(kGatedPairsAttr) : nullptr;
  return h ? h.getInt() : 0;
}

namespace {

/// The bytes of a constant tensor (dense or dense_resource, not splat), or
/// none.
std::optional<ArrayRef<char>> constantBytes(Value v) {
  ElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (dense.isSplat())
      return std::nullopt;
    return dense.getRawData();
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
  return std::nullopt;
}

/// The rows of `gate` and `up` ([F, rowBytes] each, row-major) interleaved
/// in blocks of `half` rows, as a constant of `type` at `b`.
Value interleaved(OpBuilder &b, Location loc, RankedTensorType type,
                  ArrayRef<char> gate, ArrayRef<char> up, int64_t half,
                  int64_t rowBytes) {
  std::vector<char> out;
  out.reserve(2 * gate.size());
  int64_t block = half * rowBytes;
  for (int64_t at = 0; at < int64_t(gate.size()); at += block) {
    out.insert(out.end(), gate.begin() + at, gate.begin() + at + block);
    out.insert(out.end(), up.begin() + at, up.begin() + at + block);
  }
  return arith::ConstantOp::create(
      b, loc, DenseElementsAttr::getFromRawBuffer(type, out));
}

/// One SwiGLU-shaped pair: gate's linear and activation, up's linear and
/// their product.
struct GatedPair {
  QLinearOp gate, up;
  linalg::GenericOp act;
  arith::MulFOp mul;
};

/// The pair whose product is `mul`, or none.
std::optional<GatedPair> matchPair(arith::MulFOp mul) {
  for (unsigned i = 0; i < 2; ++i) {
    auto act = mul->getOperand(i).getDefiningOp<linalg::GenericOp>();
    auto up = mul->getOperand(1 - i).getDefiningOp<QLinearOp>();
    if (!act || !up || act.getNumDpsInputs() != 1)
      continue;
    auto gate = act.getDpsInputs()[0].getDefiningOp<QLinearOp>();
    if (!gate || fusableActivation(gate.getResult()) != act ||
        !act->getResult(0).hasOneUse() || !up.getResult().hasOneUse())
      continue;
    return GatedPair{gate, up, act, mul};
  }
  return std::nullopt;
}

/// Whether the two linears read the same input and differ only in their
/// constant per-channel weights (and biases).
bool sameShapeLinears(QLinearOp gate, QLinearOp up) {
  if (gate.getInput() != up.getInput() ||
      gate.getInputScale() != up.getInputScale() || gate.getInputZeroPoint() ||
      up.getInputZeroPoint() || bool(gate.getBias()) != bool(up.getBias()) ||
      gate.getType() != up.getType() ||
      gate.getWeight().getType() != up.getWeight().getType() ||
      gate.getWeightScale().getType() != up.getWeightScale().getType())
    return false;
  auto y = cast<RankedTensorType>(gate.getType());
  auto sw = cast<RankedTensorType>(gate.getWeightScale().getType());
  return y.hasStaticShape() && y.getElementType().isF32() &&
         sw.getRank() == 1 && succeeded(checkQLinear(gate, /*emit=*/false));
}

/// The fused generic: act(in0) · in1 (in the product's operand order) on
/// the two halves of `gu`, into an empty [M, F] tensor.
linalg::GenericOp buildPairGeneric(OpBuilder &b, GatedPair p, Value gu,
                                   int64_t half, bool inEpilogue) {
  Location loc = p.mul.getLoc();
  auto type = cast<RankedTensorType>(p.mul.getType());
  MLIRContext *ctx = b.getContext();
  Value init =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx);
  AffineExpr base = n.floorDiv(half) * (2 * half) + n % half;
  SmallVector<AffineMap> maps = {AffineMap::get(2, 0, {m, base}, ctx),
                                 AffineMap::get(2, 0, {m, base + half}, ctx),
                                 AffineMap::get(2, 0, {m, n}, ctx)};
  bool actFirst = p.mul.getLhs() == p.act->getResult(0);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{type}, ValueRange{gu, gu}, ValueRange{init}, maps,
      {utils::IteratorType::parallel, utils::IteratorType::parallel},
      [&](OpBuilder &bb, Location l, ValueRange args) {
        IRMapping map;
        Block &body = p.act.getRegion().front();
        map.map(body.getArgument(0), args[0]);
        map.map(body.getArgument(1), args[2]);
        for (Operation &op : body.without_terminator())
          bb.clone(op, map);
        Value a = map.lookupOrDefault(body.getTerminator()->getOperand(0));
        Value prod = actFirst ? arith::MulFOp::create(bb, l, a, args[1])
                              : arith::MulFOp::create(bb, l, args[1], a);
        linalg::YieldOp::create(bb, l, prod);
      });
  if (inEpilogue)
    g->setAttr(kGatedPairsAttr, b.getI64IntegerAttr(half));
  return g;
}

/// Whether the wgmma kernel of the fused [M, 2F] linear takes whole tiles
/// of f32 results (its epilogue then computes the gated-pair generic).
bool epilogueTakesPairs(GatedPair p, int64_t f,
                        const QuantXformToGPUOptions &options) {
  gpu_kernels::GemmShape shape = planQLinear(p.gate, options).shape;
  shape.n = 2 * f;
  if (!options.wgmma || shape.dynamicM ||
      !gpu_kernels::wgmmaApplies(shape, options.wgmmaOptions))
    return false;
  gpu_kernels::WgmmaTile tile =
      gpu_kernels::chooseWgmmaTile(shape, options.wgmmaOptions, options.target);
  return shape.m % tile.rows() == 0 && shape.n % tile.tileN == 0 &&
         tile.tileN % (2 * kGatedHalf) == 0;
}

/// Rewrites `p` into one qlinear over both weights (rows interleaved in
/// blocks of kGatedHalf) and the gated-pair generic, marked for the
/// epilogue where the kernel takes it (else it runs as a loop kernel).
void fusePair(GatedPair p, const QuantXformToGPUOptions &options) {
  auto w = cast<RankedTensorType>(p.gate.getWeight().getType());
  int64_t f = w.getDimSize(0), k = w.getDimSize(1);
  if (f % kGatedHalf != 0)
    return;
  auto wBytes = constantBytes(p.gate.getWeight()),
       uBytes = constantBytes(p.up.getWeight()),
       swBytes = constantBytes(p.gate.getWeightScale()),
       suBytes = constantBytes(p.up.getWeightScale());
  std::optional<ArrayRef<char>> gbBytes, ubBytes;
  if (p.gate.getBias()) {
    gbBytes = constantBytes(p.gate.getBias());
    ubBytes = constantBytes(p.up.getBias());
    if (!gbBytes || !ubBytes)
      return;
  }
  if (!wBytes || !uBytes || !swBytes || !suBytes)
    return;
  bool inEpilogue = epilogueTakesPairs(p, f, options);
  OpBuilder b(p.up);
  Location loc = p.up.getLoc();
  auto y = cast<RankedTensorType>(p.gate.getType());
  auto guType = RankedTensorType::get({y.getDimSize(0), 2 * f}, b.getF32Type());
  auto fused = [&](ArrayRef<int64_t> shape, Type element, ArrayRef<char> g,
                   ArrayRef<char> u, int64_t rowBytes) {
    return interleaved(b, loc, RankedTensorType::get(shape, element), g, u,
                       kGatedHalf, rowBytes);
  };
  Value weight = fused({2 * f, k}, w.getElementType(), *wBytes, *uBytes, k);
  Value scale = fused({2 * f}, b.getF32Type(), *swBytes, *suBytes, 4);
  Value bias = p.gate.getBias()
                   ? fused({2 * f}, b.getF32Type(), *gbBytes, *ubBytes, 4)
                   : Value();
  auto gu =
      QLinearOp::create(b, loc, guType, p.up.getInput(), p.up.getInputScale(),
                        Value(), weight, scale, bias);
  gu->setDiscardableAttrs(p.up->getDiscardableAttrDictionary());
  linalg::GenericOp pair =
      buildPairGeneric(b, p, gu.getResult(), kGatedHalf, inEpilogue);
  p.mul.getResult().replaceAllUsesWith(pair.getResult(0));
  p.mul.erase();
  p.act.erase();
  p.up.erase();
  p.gate.erase();
}

} // namespace

void gpu_lowering::fuseGatedPairs(func::FuncOp f,
                                  const QuantXformToGPUOptions &options) {
  SmallVector<GatedPair> pairs;
  f.walk([&](arith::MulFOp mul) {
    if (!isa<RankedTensorType>(mul.getType()))
      return;
    if (std::optional<GatedPair> p = matchPair(mul))
      if (sameShapeLinears(p->gate, p->up))
        pairs.push_back(*p);
  });
  for (GatedPair p : pairs)
    fusePair(p, options);
}
