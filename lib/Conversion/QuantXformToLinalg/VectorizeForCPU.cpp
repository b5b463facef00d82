//===- VectorizeForCPU.cpp - vector code for the float parts of a model ---===//
//
// The pass `quant-xform-vectorize-for-cpu`: after quant_xform has become
// linalg on tensors, it gives the float parts of a model (attention's batch
// matmuls, softmax, norms, GELU/SiLU, quantizers) vector code instead of
// the scalar loops that convert-linalg-to-loops would make:
//
//  * a static f32 `linalg.matmul` / `linalg.batch_matmul` whose M and N fit
//    the register block becomes an `scf.forall` over (batch, row block,
//    column block) tiles, each keeping 8 × 32 f32 accumulators in vector
//    registers over the whole K (one broadcast A element × one B row
//    vector per step: fused multiply-adds); with fewer than 8 rows against
//    an [N, K] operand, a dot kernel along K instead (no transpose);
//  * chains of elementwise generics are fused first (one pass over memory);
//  * every other static linalg op is tiled (`scf::tileUsingSCF`) so that
//    only its innermost loop dimension remains, and vectorized
//    (`linalg::vectorize`); math functions then get upstream's polynomial
//    approximations, which vectorize (erf, exp, tanh, ...). An op of at
//    least 32768 elements that is not already inside an `scf.forall` is
//    first split into chunks of its outermost parallel dimension in an
//    `scf.forall` (threads, with the pipeline's OpenMP lowering).
//
// Ops it cannot handle are left for the loop lowering.
//
//===----------------------------------------------------------------------===//

#include "quant-xform/Conversion/QuantXformToLinalg/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::quant_xform {
#define GEN_PASS_DEF_VECTORIZEFORCPU
#include "quant-xform/Conversion/QuantXformToLinalg/Passes.h.inc"
} // namespace mlir::quant_xform

using namespace mlir;

namespace {

constexpr int64_t kLanes = 16;    // f32 lanes of a 512-bit vector
constexpr int64_t kBlockRows = 8; // register block rows
/// The most elements of one vectorized tile (16 zmm registers of f32).
/// Wider vectors (a softmax row of 1025, a norm of 576) cost LLVM's
/// InstCombine minutes per layer and legalize to the same 16-lane code;
/// longer reductions are accumulated in chunks of at most this size.
constexpr int64_t kMaxVectorElements = 256;
/// Elements an op needs, at least, before it is split across threads, and
/// the least per thread's chunk.
constexpr int64_t kMinParallelElements = 32768;
constexpr int64_t kMinChunkElements = 8192;

/// The operands of a static f32 matmul the kernel can take: C[b] +=
/// A[b]·B[b] with B as [K, N] (a transposed [N, K] operand is transposed
/// first).
struct MatmulOperands {
  Value a, b, c;
  bool batched = false;
  bool transposeB = false;
};

/// Named (batch_)matmuls with default maps, and the generic contraction
/// `c[m, n] += a[m, k] * b[n, k]` (or `b[k, n]`) of the float `linear`
/// lowering.
std::optional<MatmulOperands> matchMatmul(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op->getNumResults() != 1 ||
      op.getNumDpsInputs() != 2)
    return std::nullopt;
  MatmulOperands mm{op.getDpsInputs()[0], op.getDpsInputs()[1],
                    op.getDpsInits()[0]};
  Operation *named = op.getOperation();
  if (auto m = dyn_cast<linalg::MatmulOp>(named)) {
    if (m.hasUserDefinedMaps())
      return std::nullopt;
  } else if (auto bm = dyn_cast<linalg::BatchMatmulOp>(named)) {
    if (bm.hasUserDefinedMaps())
      return std::nullopt;
    mm.batched = true;
  } else if (auto g = dyn_cast<linalg::GenericOp>(named)) {
    if (g.getNumLoops() != 3 || g.getNumReductionLoops() != 1 ||
        g.getIteratorTypesArray()[2] != utils::IteratorType::reduction)
      return std::nullopt;
    MLIRContext *ctx = g.getContext();
    AffineExpr m, n, k;
    bindDims(ctx, m, n, k);
    auto map = [&](ArrayRef<AffineExpr> e) {
      return AffineMap::get(3, 0, e, ctx);
    };
    SmallVector<AffineMap> maps = g.getIndexingMapsArray();
    if (maps[0] != map({m, k}) || maps[2] != map({m, n}))
      return std::nullopt;
    if (maps[1] == map({n, k}))
      mm.transposeB = true;
    else if (maps[1] != map({k, n}))
      return std::nullopt;
    // Body: yield(out + a * b).
    Block &body = g.getRegion().front();
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
    if (!add || body.getOperations().size() != 3)
      return std::nullopt;
    auto mul = add.getRhs().getDefiningOp<arith::MulFOp>();
    if (!mul || add.getLhs() != body.getArgument(2) ||
        mul.getLhs() != body.getArgument(0) ||
        mul.getRhs() != body.getArgument(1))
      return std::nullopt;
  } else {
    return std::nullopt;
  }
  return mm;
}

/// `idx` behind the batch index `batch` (none when null).
SmallVector<Value> batchedIndices(Value batch, ValueRange idx) {
  SmallVector<Value> v;
  if (batch)
    v.push_back(batch);
  v.append(idx.begin(), idx.end());
  return v;
}

/// Offsets, sizes and strides of a `rows` × `cols` tile at (m0, n0) of a
/// [M, N] result, or of batch `batch`'s [M, N] in a [B, M, N] one.
struct ResultTile {
  SmallVector<OpFoldResult> offsets, sizes, strides;
};
ResultTile resultTile(RewriterBase &rw, Value batch, OpFoldResult m0,
                      OpFoldResult n0, int64_t rows, int64_t cols) {
  ResultTile t;
  if (batch) {
    t.offsets.push_back(batch);
    t.sizes.push_back(rw.getIndexAttr(1));
  }
  t.offsets.append({m0, n0});
  t.sizes.append({rw.getIndexAttr(rows), rw.getIndexAttr(cols)});
  t.strides.assign(t.offsets.size(), rw.getIndexAttr(1));
  return t;
}

/// C[b] += A[b]·B[b]ᵀ for a few rows (M < 8) of A against B as [N, K]:
/// an `scf.forall` over (batch, block of `cols` rows of B); one loop over
/// K in steps of 16 keeps M × cols vector accumulators (fused
/// multiply-adds of an A and a B row vector), each reduced across its
/// lanes at the end. Needs K % 16 == 0 and N % cols == 0; returns null
/// otherwise (the op is then tiled and vectorized as it is).
Value buildDotKernel(RewriterBase &rw, linalg::LinalgOp op,
                     const MatmulOperands &mm) {
  bool batched = mm.batched;
  auto at = cast<RankedTensorType>(mm.a.getType());
  auto ct = cast<RankedTensorType>(mm.c.getType());
  int64_t off = batched ? 1 : 0;
  int64_t batch = batched ? at.getDimSize(0) : 1;
  int64_t m = at.getDimSize(off), k = at.getDimSize(off + 1),
          n = ct.getDimSize(off + 1);
  const int64_t cols = m <= 4 ? 4 : 2;
  if (k % kLanes != 0 || n % cols != 0)
    return Value();
  Type f32 = rw.getF32Type();
  Location loc = op.getLoc();
  OpBuilder::InsertionGuard guard(rw);
  rw.setInsertionPoint(op);
  auto forall = scf::ForallOp::create(
      rw, loc,
      ArrayRef<OpFoldResult>{rw.getIndexAttr(batch), rw.getIndexAttr(n / cols)},
      ValueRange{mm.c}, std::nullopt);
  rw.setInsertionPoint(forall.getTerminator());
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rw, loc, v);
  };
  Value bIdx = forall.getInductionVar(0);
  Value n0 =
      arith::MulIOp::create(rw, loc, forall.getInductionVar(1), index(cols));
  auto withBatch = [&](ValueRange idx) {
    return batchedIndices(batched ? bIdx : Value(), idx);
  };
  auto vecType = VectorType::get({kLanes}, f32);
  Value zero = arith::ConstantOp::create(rw, loc, rw.getF32FloatAttr(0.0));
  Value zeros = arith::ConstantOp::create(
      rw, loc, DenseElementsAttr::get(vecType, rw.getF32FloatAttr(0.0)));
  SmallVector<Value> colIdx;
  for (int64_t j = 0; j < cols; ++j)
    colIdx.push_back(arith::AddIOp::create(rw, loc, n0, index(j)));
  SmallVector<Value> inits(m * cols, zeros);
  auto kLoop = scf::ForOp::create(
      rw, loc, index(0), index(k), index(kLanes), inits,
      [&](OpBuilder &lb, Location ll, Value kk, ValueRange accs) {
        SmallVector<Value> bs;
        for (int64_t j = 0; j < cols; ++j)
          bs.push_back(vector::TransferReadOp::create(
              lb, ll, vecType, mm.b, withBatch({colIdx[j], kk}), zero,
              ArrayRef<bool>{true}));
        SmallVector<Value> next;
        for (int64_t r = 0; r < m; ++r) {
          Value av = vector::TransferReadOp::create(lb, ll, vecType, mm.a,
                                                    withBatch({index(r), kk}),
                                                    zero, ArrayRef<bool>{true});
          for (int64_t j = 0; j < cols; ++j)
            next.push_back(
                vector::FMAOp::create(lb, ll, av, bs[j], accs[r * cols + j]));
        }
        scf::YieldOp::create(lb, ll, next);
      });
  auto [offsets, sizes, strides] =
      resultTile(rw, batched ? bIdx : Value(), rw.getIndexAttr(0), n0, m, cols);
  auto tileType = RankedTensorType::get({m, cols}, f32);
  Value out = forall.getRegionOutArgs()[0];
  Value tile = tensor::ExtractSliceOp::create(rw, loc, tileType, out, offsets,
                                              sizes, strides);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      // linalg's C += A·Bᵀ: the initial C plus the lanes' sum.
      Value sum = vector::ReductionOp::create(
          rw, loc, vector::CombiningKind::ADD, kLoop.getResult(r * cols + j));
      Value c0 = tensor::ExtractOp::create(rw, loc, tile,
                                           ValueRange{index(r), index(j)});
      tile = tensor::InsertOp::create(rw, loc,
                                      arith::AddFOp::create(rw, loc, c0, sum),
                                      tile, ValueRange{index(r), index(j)});
    }
  rw.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(rw, loc, tile, out, offsets, sizes,
                                        strides);
  return forall.getResult(0);
}

/// C[b] += A[b]·B[b] for static f32 (batch_)matmuls: M % rows == 0 and
/// N % 16 == 0, with rows = min(8, M). Returns the new result or null.
Value buildMatmulKernel(RewriterBase &rw, linalg::LinalgOp op) {
  std::optional<MatmulOperands> mm = matchMatmul(op);
  if (!mm)
    return Value();
  bool batched = mm->batched;
  Value a = mm->a, bm = mm->b, c = mm->c;
  auto at = cast<RankedTensorType>(a.getType());
  auto bt = cast<RankedTensorType>(bm.getType());
  auto ct = cast<RankedTensorType>(c.getType());
  Type f32 = rw.getF32Type();
  if (!at.hasStaticShape() || !bt.hasStaticShape() || !ct.hasStaticShape() ||
      at.getElementType() != f32 || bt.getElementType() != f32 ||
      ct.getElementType() != f32)
    return Value();
  int64_t off = batched ? 1 : 0;
  int64_t batch = batched ? at.getDimSize(0) : 1;
  int64_t m = at.getDimSize(off), k = at.getDimSize(off + 1),
          n = ct.getDimSize(off + 1);
  int64_t rows = std::min(kBlockRows, m);
  int64_t width = n % (2 * kLanes) == 0 ? 2 * kLanes : kLanes;
  if (m % rows != 0 || n % width != 0)
    return Value();
  // A few rows against an [N, K] operand: dot products along K, instead of
  // transposing all of it first.
  if (mm->transposeB && m < kBlockRows)
    return buildDotKernel(rw, op, *mm);
  int64_t vecs = width / kLanes;

  Location loc = op.getLoc();
  OpBuilder::InsertionGuard guard(rw);
  rw.setInsertionPoint(op);
  if (mm->transposeB) {
    // [N, K] → [K, N] once, so that the kernel reads B rows: at compile
    // time for a constant (a model's weight), else on every call.
    DenseElementsAttr constant;
    if (!batched && matchPattern(bm, m_Constant(&constant))) {
      auto values = llvm::to_vector(constant.getValues<float>());
      std::vector<float> transposed(values.size());
      for (int64_t r = 0; r < n; ++r)
        for (int64_t kk = 0; kk < k; ++kk)
          transposed[kk * n + r] = values[r * k + kk];
      bm = arith::ConstantOp::create(
          rw, loc,
          DenseElementsAttr::get(RankedTensorType::get({k, n}, f32),
                                 ArrayRef<float>(transposed)));
    } else {
      Value init =
          tensor::EmptyOp::create(rw, loc, ArrayRef<int64_t>{k, n}, f32);
      bm = linalg::TransposeOp::create(rw, loc, bm, init,
                                       ArrayRef<int64_t>{1, 0})
               .getResult()[0];
    }
  }
  auto forall = scf::ForallOp::create(
      rw, loc,
      ArrayRef<OpFoldResult>{rw.getIndexAttr(batch), rw.getIndexAttr(m / rows),
                             rw.getIndexAttr(n / width)},
      ValueRange{c}, std::nullopt);
  rw.setInsertionPoint(forall.getTerminator());
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(rw, loc, v);
  };
  Value bIdx = forall.getInductionVar(0);
  Value m0 =
      arith::MulIOp::create(rw, loc, forall.getInductionVar(1), index(rows));
  Value n0 =
      arith::MulIOp::create(rw, loc, forall.getInductionVar(2), index(width));
  Value out = forall.getRegionOutArgs()[0];
  auto withBatch = [&](ValueRange idx) {
    return batchedIndices(batched ? bIdx : Value(), idx);
  };
  auto vecType = VectorType::get({kLanes}, f32);
  Value zero = arith::ConstantOp::create(rw, loc, rw.getF32FloatAttr(0.0));
  SmallVector<Value> rowIdx, colIdx;
  for (int64_t r = 0; r < rows; ++r)
    rowIdx.push_back(arith::AddIOp::create(rw, loc, m0, index(r)));
  for (int64_t v = 0; v < vecs; ++v)
    colIdx.push_back(arith::AddIOp::create(rw, loc, n0, index(v * kLanes)));
  // Accumulators start from C (linalg's C += A·B).
  SmallVector<Value> inits;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < vecs; ++v)
      inits.push_back(vector::TransferReadOp::create(
          rw, loc, vecType, out, withBatch({rowIdx[r], colIdx[v]}), zero,
          ArrayRef<bool>{true}));
  auto kLoop = scf::ForOp::create(
      rw, loc, index(0), index(k), index(1), inits,
      [&](OpBuilder &lb, Location ll, Value kk, ValueRange accs) {
        SmallVector<Value> bs;
        for (int64_t v = 0; v < vecs; ++v)
          bs.push_back(vector::TransferReadOp::create(
              lb, ll, vecType, bm, withBatch({kk, colIdx[v]}), zero,
              ArrayRef<bool>{true}));
        SmallVector<Value> next;
        for (int64_t r = 0; r < rows; ++r) {
          Value s =
              tensor::ExtractOp::create(lb, ll, a, withBatch({rowIdx[r], kk}));
          Value av = vector::BroadcastOp::create(lb, ll, vecType, s);
          for (int64_t v = 0; v < vecs; ++v)
            next.push_back(
                vector::FMAOp::create(lb, ll, av, bs[v], accs[r * vecs + v]));
        }
        scf::YieldOp::create(lb, ll, next);
      });
  // Write the block into a tile of the result.
  auto [offsets, sizes, strides] =
      resultTile(rw, batched ? bIdx : Value(), m0, n0, rows, width);
  auto tileType = RankedTensorType::get({rows, width}, f32);
  Value tile = tensor::ExtractSliceOp::create(rw, loc, tileType, out, offsets,
                                              sizes, strides);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < vecs; ++v)
      tile = vector::TransferWriteOp::create(
                 rw, loc, kLoop.getResult(r * vecs + v), tile,
                 ValueRange{index(r), index(v * kLanes)}, ArrayRef<bool>{true})
                 .getResult();
  rw.setInsertionPointToEnd(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(rw, loc, tile, out, offsets, sizes,
                                        strides);
  return forall.getResult(0);
}

/// The largest of 64, 32, 16, 8 that divides `size`, else `size` itself.
int64_t innerTile(int64_t size) {
  for (int64_t t : {64, 32, 16, 8})
    if (size % t == 0)
      return t;
  return size;
}

/// Tiles a static linalg op to its innermost loop dimension (reductions
/// kept whole) and vectorizes the tile. Returns failure when it leaves the
/// op alone.
LogicalResult tileAndVectorize(RewriterBase &rw, linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || isa<linalg::TransposeOp>(op) ||
      op.getNumLoops() == 0)
    return failure();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return failure();
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  int64_t loops = ranges.size();
  // Vector sizes: reductions whole, the innermost parallel dimension tiled,
  // every other parallel dimension 1.
  SmallVector<int64_t> vectorSizes(loops, 1);
  int64_t innermostParallel = -1;
  for (int64_t d = loops - 1; d >= 0; --d)
    if (iters[d] == utils::IteratorType::parallel) {
      innermostParallel = d;
      break;
    }
  bool hasReduction = false;
  for (int64_t d = 0; d < loops; ++d) {
    if (iters[d] == utils::IteratorType::reduction) {
      vectorSizes[d] = ranges[d];
      hasReduction = true;
    }
  }
  // A reduction on the last dimension vectorizes along it; otherwise the
  // innermost parallel dimension does.
  if (!(hasReduction && iters[loops - 1] == utils::IteratorType::reduction) &&
      innermostParallel >= 0)
    vectorSizes[innermostParallel] = innerTile(ranges[innermostParallel]);
  int64_t elements = 1;
  for (int64_t s : vectorSizes)
    elements *= s;
  // A long reduction on the last dimension (a per-token scale over K =
  // 4096, a norm's sums): chunks of it, the largest divisor of its length
  // that fits, accumulated through the output from chunk to chunk.
  if (elements > kMaxVectorElements && hasReduction &&
      iters[loops - 1] == utils::IteratorType::reduction &&
      llvm::count(iters, utils::IteratorType::reduction) == 1) {
    int64_t others = elements / vectorSizes[loops - 1];
    int64_t fit = kMaxVectorElements / others;
    for (int64_t d = fit; d >= kLanes; --d)
      if (ranges[loops - 1] % d == 0 && d % kLanes == 0) {
        vectorSizes[loops - 1] = d;
        elements = others * d;
        break;
      }
  }
  if (elements > kMaxVectorElements || elements < 2)
    return failure();
  if (failed(linalg::vectorizeOpPrecondition(op)))
    return failure();

  // Large ops outside any parallel loop: chunks of the outermost parallel
  // dimension (of more than one index) in an scf.forall (OpenMP threads after
  // scf-forall-to-parallel), each chunk a whole divisor of it, so that the
  // tiles stay static; then the chunk is tiled and vectorized like any op.
  int64_t total = 1;
  for (int64_t r : ranges)
    total *= r;
  int64_t split = 0; // the outermost parallel dimension longer than 1
  while (split < loops && ranges[split] == 1)
    ++split;
  if (total >= kMinParallelElements && split < loops &&
      iters[split] == utils::IteratorType::parallel &&
      vectorSizes[split] == 1 && !op->getParentOfType<scf::ForallOp>()) {
    int64_t perIndex = total / ranges[split], chunk = 0;
    for (int64_t t = 1; t <= ranges[split] / 2 && !chunk; ++t)
      if (ranges[split] % t == 0 && t * perIndex >= kMinChunkElements)
        chunk = t;
    if (chunk) {
      scf::SCFTilingOptions options;
      SmallVector<OpFoldResult> tiles(loops, rw.getIndexAttr(0));
      tiles[split] = rw.getIndexAttr(chunk);
      options.setTileSizes(tiles);
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      rw.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rw, cast<TilingInterface>(op.getOperation()), options);
      if (succeeded(tiled) && tiled->tiledOps.size() == 1) {
        rw.replaceOp(op, tiled->replacements);
        auto inner = cast<linalg::LinalgOp>(tiled->tiledOps.front());
        (void)tileAndVectorize(rw, inner);
        return success();
      }
    }
  }

  Operation *target = op;
  if (vectorSizes != ranges) {
    scf::SCFTilingOptions options;
    SmallVector<OpFoldResult> tiles;
    for (int64_t d = 0; d < loops; ++d)
      tiles.push_back(
          rw.getIndexAttr(vectorSizes[d] == ranges[d] ? 0 : vectorSizes[d]));
    options.setTileSizes(tiles);
    options.setLoopType(scf::SCFTilingOptions::LoopType::ForOp);
    rw.setInsertionPoint(op);
    FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
        rw, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled) || tiled->tiledOps.size() != 1)
      return failure();
    rw.replaceOp(op, tiled->replacements);
    target = tiled->tiledOps.front();
  }
  rw.setInsertionPoint(target);
  FailureOr<linalg::VectorizationResult> vectorized =
      linalg::vectorize(rw, target);
  if (failed(vectorized))
    return failure();
  rw.replaceOp(target, vectorized->replacements);
  return success();
}

struct VectorizeForCPU
    : public quant_xform::impl::VectorizeForCPUBase<VectorizeForCPU> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // One generic per elementwise chain, splat constants folded in (the
    // elementwise part of linalg-fuse-elementwise-ops, without its reshape
    // propagation, which would reshape contractions).
    {
      RewritePatternSet fusion(&getContext());
      linalg::populateElementwiseOpsFusionPatterns(
          fusion, [](OpOperand *operand) {
            // Only into elementwise consumers: fused into a contraction, a
            // producer would be recomputed for every output column.
            Operation *producer = operand->get().getDefiningOp();
            auto consumer = dyn_cast<linalg::LinalgOp>(operand->getOwner());
            return producer && producer->hasOneUse() && consumer &&
                   consumer.getNumLoops() == consumer.getNumParallelLoops();
          });
      if (failed(applyPatternsGreedily(func, std::move(fusion))))
        return signalPassFailure();
    }
    IRRewriter rw(&getContext());
    SmallVector<linalg::LinalgOp> ops;
    func.walk([&](linalg::LinalgOp op) { ops.push_back(op); });
    for (linalg::LinalgOp op : ops) {
      if (Value kernel = buildMatmulKernel(rw, op)) {
        rw.replaceOp(op, kernel);
        continue;
      }
      if (isa<linalg::FillOp>(op.getOperation()))
        continue; // Fills become memsets.
      (void)tileAndVectorize(rw, op);
    }
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorReductionToContractPatterns(patterns);
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerReduction);
    if (failed(applyPatternsGreedily(func, std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
