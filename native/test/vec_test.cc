// Tests of the Vec API (vec_scalar.h documents it) of one ISA: compiled
// once per ISA with that ISA's flags and INSTNORM_TARGET_ISA=<name>, into
// <name>_vec_tests(), which microkernels_test.cc runs when the CPU (or the
// emulation) has the ISA. Every lane of every operation is checked against
// the documented semantics, on values that include -0, subnormals,
// infinities, NaN and the edges of float and int32; partial and masked
// accesses run against a guard page.
//
// Only this ISA's vector code and plain C functions are compiled here (no
// standard-library templates or inline functions, and the harness is
// called out of line): see harness.h for why.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../kernels/vec/target.h"
#include "harness.h"

namespace instnorm {
namespace test {
namespace {

using V = vec::target::Vec;
using M = V::Mask;
using I = V::Int;
constexpr int W = V::kWidth;
const char* const kIsa = INSTNORM_STRINGIFY(INSTNORM_TARGET_ISA);

uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
bool is_nan(float f) { return f != f; }
// Same value and sign, or both NaN.
bool same(float a, float b) { return is_nan(a) ? is_nan(b) : bits(a) == bits(b); }

// Constant-initialized (GCC builtins; the tests build with GCC): a dynamic
// initializer here would run this ISA's instructions at program start, on
// every CPU.
constexpr float kNaN = __builtin_nanf("");
constexpr float kInf = __builtin_inff();
constexpr float kValues[] = {
    0.0f, -0.0f, 1.0f, -1.0f, 0.5f, -2.5f, 1.5f, 2.5f, 3.5f, -3.5f, -0.49999997f, 123.456f,
    1e-40f, -1e-40f,                                  // subnormal
    0x1p-126f, 0x1.fffffep127f, -0x1.fffffep127f,     // FLT_MIN, +-FLT_MAX
    kInf, -kInf, kNaN, 1e30f, -7e-20f, 16777217.0f, 8388609.0f, 2147483520.0f, -2147483648.0f,
    2147483648.0f, 0.3f, -0.7f, 65504.0f, 1.0f / 3.0f, -1e-8f,
};
constexpr int kCount = sizeof kValues / sizeof kValues[0];

// Lane i of case j: kValues[(j + i * step) % kCount]; b uses another step,
// so every value meets many others across the cases.
void lanes(int j, int step, float* out) {
  for (int i = 0; i < W; ++i) out[i] = kValues[(j + i * step) % kCount];
}

void check(bool ok, const char* what, int j, float got, float want) {
  expect(ok, kIsa, what, j, got, want);
}

float ref_min(float a, float b) { return is_nan(a) || is_nan(b) ? kNaN : (b < a ? b : a); }
float ref_max(float a, float b) { return is_nan(a) || is_nan(b) ? kNaN : (b > a ? b : a); }
// min/max: NaN when either is; for (+0, -0) either zero.
bool min_max_ok(float got, float want, float a, float b) {
  if (a == 0.0f && b == 0.0f) return got == 0.0f;
  return same(got, want) || (is_nan(want) && is_nan(got));
}

void test_arithmetic() {
  float a[W], b[W], c[W], r[W];
  for (int j = 0; j < kCount; ++j) {
    lanes(j, 1, a);
    lanes(j, 7, b);
    lanes(j, 3, c);
    const V va = V::load(a), vb = V::load(b), vc = V::load(c);
    (va + vb).store(r);
    for (int i = 0; i < W; ++i) check(same(r[i], a[i] + b[i]), "vec.add", j, r[i], a[i] + b[i]);
    (va - vb).store(r);
    for (int i = 0; i < W; ++i) check(same(r[i], a[i] - b[i]), "vec.sub", j, r[i], a[i] - b[i]);
    (va * vb).store(r);
    for (int i = 0; i < W; ++i) check(same(r[i], a[i] * b[i]), "vec.mul", j, r[i], a[i] * b[i]);
    (va / vb).store(r);
    for (int i = 0; i < W; ++i) check(same(r[i], a[i] / b[i]), "vec.div", j, r[i], a[i] / b[i]);
    (-va).store(r);
    for (int i = 0; i < W; ++i) check(bits(r[i]) == (bits(a[i]) ^ 0x80000000u), "vec.neg", j, r[i], -a[i]);
    // Fused on SIMD ISAs, not on scalar: either rounding is right.
    fmadd(va, vb, vc).store(r);
    for (int i = 0; i < W; ++i) {
      const float unfused = a[i] * b[i] + c[i], fused = fmaf(a[i], b[i], c[i]);
      check(same(r[i], unfused) || same(r[i], fused), "vec.fmadd", j, r[i], fused);
    }
    min(va, vb).store(r);
    for (int i = 0; i < W; ++i) {
      check(min_max_ok(r[i], ref_min(a[i], b[i]), a[i], b[i]), "vec.min", j, r[i], ref_min(a[i], b[i]));
    }
    max(va, vb).store(r);
    for (int i = 0; i < W; ++i) {
      check(min_max_ok(r[i], ref_max(a[i], b[i]), a[i], b[i]), "vec.max", j, r[i], ref_max(a[i], b[i]));
    }
    abs(va).store(r);
    for (int i = 0; i < W; ++i) {
      const bool ok = bits(r[i]) == (bits(a[i]) & 0x7FFFFFFFu) || (is_nan(a[i]) && is_nan(r[i]));
      check(ok, "vec.abs", j, r[i], fabsf(a[i]));
    }
    sqrt(va).store(r);
    for (int i = 0; i < W; ++i) check(same(r[i], sqrtf(a[i])), "vec.sqrt", j, r[i], sqrtf(a[i]));
    round(va).store(r);
    for (int i = 0; i < W; ++i) check(same(r[i], nearbyintf(a[i])), "vec.round", j, r[i], nearbyintf(a[i]));
    floor(va).store(r);
    for (int i = 0; i < W; ++i) check(same(r[i], floorf(a[i])), "vec.floor", j, r[i], floorf(a[i]));
  }
}

void test_compare_select() {
  float a[W], b[W], r[W];
  for (int j = 0; j < kCount; ++j) {
    lanes(j, 1, a);
    lanes(j, 5, b);
    if (j % 3 == 0) lanes(j, 1, b);  // equal lanes too
    const V va = V::load(a), vb = V::load(b);
    const V one = V::set1(1.0f), zero = V::zero();
    struct {
      const char* what;
      M m;
      bool (*want)(float, float);
    } const cmps[] = {
        {"vec.lt", lt(va, vb), [](float x, float y) { return x < y; }},
        {"vec.le", le(va, vb), [](float x, float y) { return x <= y; }},
        {"vec.gt", gt(va, vb), [](float x, float y) { return x > y; }},
        {"vec.ge", ge(va, vb), [](float x, float y) { return x >= y; }},
        {"vec.eq", eq(va, vb), [](float x, float y) { return x == y; }},
        {"vec.ne", ne(va, vb), [](float x, float y) { return x != y; }},
        {"vec.is_nan", is_nan(va), [](float x, float) { return x != x; }},
    };
    for (const auto& cmp : cmps) {
      select(cmp.m, one, zero).store(r);
      bool any_want = false, all_want = true;
      for (int i = 0; i < W; ++i) {
        const bool want = cmp.want(a[i], b[i]);
        any_want = any_want || want;
        all_want = all_want && want;
        check(r[i] == (want ? 1.0f : 0.0f), cmp.what, j, r[i], want);
      }
      check(any(cmp.m) == any_want, "mask.any", j, any(cmp.m), any_want);
      check(all(cmp.m) == all_want, "mask.all", j, all(cmp.m), all_want);
    }
    // Mask algebra, against lane-by-lane booleans.
    const M p = lt(va, vb), q = is_nan(vb);
    const M ms[] = {p & q, p | q, p ^ q, ~p};
    for (int k = 0; k < 4; ++k) {
      select(ms[k], one, zero).store(r);
      for (int i = 0; i < W; ++i) {
        const bool pi = a[i] < b[i], qi = b[i] != b[i];
        const bool want = k == 0 ? pi && qi : k == 1 ? pi || qi : k == 2 ? pi != qi : !pi;
        check(r[i] == (want ? 1.0f : 0.0f), "mask.ops", j * 4 + k, r[i], want);
      }
    }
    select(p, va, vb).store(r);
    for (int i = 0; i < W; ++i) {
      const float want = a[i] < b[i] ? a[i] : b[i];
      check(same(r[i], want), "vec.select", j, r[i], want);
    }
  }
  for (int n = 0; n <= W; ++n) {
    float r[W];
    select(M::first_n(n), V::set1(1.0f), V::zero()).store(r);
    for (int i = 0; i < W; ++i) check(r[i] == (i < n ? 1.0f : 0.0f), "mask.first_n", n, r[i], i < n);
  }
}

void test_reductions() {
  float a[W];
  double d[W];
  for (int j = 0; j < kCount; ++j) {
    lanes(j, 1, a);
    const V va = V::load(a);
    float lo = a[0], hi = a[0];
    for (int i = 1; i < W; ++i) {
      lo = ref_min(lo, a[i]);
      hi = ref_max(hi, a[i]);
    }
    const float rmin = va.reduce_min(), rmax = va.reduce_max();
    check(same(rmin, lo) || (lo == 0.0f && rmin == 0.0f), "vec.reduce_min", j, rmin, lo);
    check(same(rmax, hi) || (hi == 0.0f && rmax == 0.0f), "vec.reduce_max", j, rmax, hi);
    va.store_double(d);
    for (int i = 0; i < W; ++i) {
      check(d[i] == static_cast<double>(a[i]) || (is_nan(a[i]) && d[i] != d[i]), "vec.store_double", j,
            static_cast<float>(d[i]), a[i]);
    }
  }
  // sum(): exact on integers, whatever order the ISA adds in.
  for (int j = 0; j < 8; ++j) {
    double want = 0;
    for (int i = 0; i < W; ++i) {
      a[i] = static_cast<float>((i * 37 + j * 11) % 101) - 50.0f + (i == j ? 16777216.0f : 0.0f);
      want += a[i];
    }
    const double got = V::load(a).sum();
    expect(got == want, kIsa, "vec.sum", j, got, want);
  }
}

// The pairwise tree of vec_scalar.h over W floats, in plain float
// arithmetic: adjacent pairs first.
float pairwise_sum(const float* a) {
  float t[W];
  for (int i = 0; i < W; ++i) t[i] = a[i];
  for (int w = W / 2; w >= 1; w /= 2) {
    for (int i = 0; i < w; ++i) t[i] = t[2 * i] + t[2 * i + 1];
  }
  return t[0];
}

// transpose_sum: every lane against the pairwise tree of its row, bit for
// bit (the order is part of the API). Rows mix the special values (so
// infinities meet, NaN spreads, -0 + -0 stays -0) and values whose sum
// depends on the order (1e8 + 1 - 1e8), and each row is also moved to
// every position to show its sum does not depend on the other rows.
void test_transpose_sum() {
  V rows[W];
  float a[W][W], r[W];
  for (int j = 0; j < kCount; ++j) {
    for (int k = 0; k < W; ++k) {
      lanes(j + 3 * k, 1 + 2 * k, a[k]);
      rows[k] = V::load(a[k]);
    }
    transpose_sum(rows).store(r);
    for (int k = 0; k < W; ++k) {
      const float want = pairwise_sum(a[k]);
      check(same(r[k], want), "vec.transpose_sum", j * W + k, r[k], want);
    }
  }
  // Order-sensitive rows: the result is the tree's, not another order's.
  for (int k = 0; k < W; ++k) {
    for (int i = 0; i < W; ++i) a[k][i] = (i + k) % 3 == 0 ? 1e8f : (i + k) % 3 == 1 ? 1.0f : -1e8f;
    if (k % 2 == 1) a[k][W - 1] = 3.0f;
    rows[k] = V::load(a[k]);
  }
  transpose_sum(rows).store(r);
  for (int k = 0; k < W; ++k) {
    const float want = pairwise_sum(a[k]);
    check(same(r[k], want), "vec.transpose_sum.order", k, r[k], want);
  }
  // Row k alone at position p (the others zero or NaN): the same bits.
  for (int k = 0; k < W; ++k) {
    const float want = pairwise_sum(a[k]);
    for (int p = 0; p < W; ++p) {
      for (int q = 0; q < W; ++q) rows[q] = V::set1(q % 2 ? kNaN : 0.0f);
      rows[p] = V::load(a[k]);
      transpose_sum(rows).store(r);
      check(same(r[p], want), "vec.transpose_sum.position", k * W + p, r[p], want);
      for (int q = 0; q < W; ++q) {
        if (q != p) check(q % 2 ? is_nan(r[q]) : r[q] == 0.0f, "vec.transpose_sum.others", k * W + q, r[q], 0);
      }
    }
  }
}

// Loads and stores of n < W lanes and under arbitrary masks, against the
// guard page: the accessed lanes end exactly where the memory does.
void test_memory() {
  Guarded buf(2 * W);
  float* const end = buf.data() + 2 * W;
  float src[W], r[W];
  for (int i = 0; i < W; ++i) src[i] = static_cast<float>(i + 1);
  for (int n = 0; n <= W; ++n) {
    float* p = end - n;
    for (int i = 0; i < n; ++i) p[i] = src[i];
    V::load_partial(p, n, -9.0f).store(r);
    for (int i = 0; i < W; ++i) {
      const float want = i < n ? src[i] : -9.0f;
      check(r[i] == want, "vec.load_partial", n, r[i], want);
    }
    for (int i = 0; i < 2 * W; ++i) buf.data()[i] = -1.0f;
    V::load(src).store_partial(p, n);
    for (int i = 0; i < 2 * W; ++i) {
      const float want = buf.data() + i >= p ? src[buf.data() + i - p] : -1.0f;
      check(buf.data()[i] == want, "vec.store_partial", n, buf.data()[i], want);
    }
  }
  // Masks: every one for W <= 8, a spread of them for W = 16. The highest
  // selected lane is the last float before the guard page.
  const int masks = W <= 8 ? 1 << W : 1024;
  for (int t = 1; t < masks; ++t) {
    const uint32_t sel = W <= 8 ? static_cast<uint32_t>(t) : static_cast<uint32_t>(t * 64 + (t % 61)) & 0xFFFFu;
    if (sel == 0) continue;
    int top = 0;
    for (int i = 0; i < W; ++i) {
      if ((sel >> i) & 1u) top = i;
    }
    float* p = end - (top + 1);
    float lane_on[W];
    for (int i = 0; i < W; ++i) lane_on[i] = ((sel >> i) & 1u) ? 1.0f : 0.0f;
    const M m = gt(V::load(lane_on), V::zero());
    for (int i = 0; i <= top; ++i) p[i] = src[i];
    V::load_masked(p, m, -9.0f).store(r);
    for (int i = 0; i < W; ++i) {
      const float want = ((sel >> i) & 1u) ? src[i] : -9.0f;
      check(r[i] == want, "vec.load_masked", static_cast<int>(sel), r[i], want);
    }
    for (int i = 0; i < 2 * W; ++i) buf.data()[i] = -1.0f;
    V::set1(5.0f).store_masked(p, m);
    for (int i = 0; i <= top; ++i) {
      const float want = ((sel >> i) & 1u) ? 5.0f : -1.0f;
      check(p[i] == want, "vec.store_masked", static_cast<int>(sel), p[i], want);
    }
  }
  check(buf.canaries_intact(), "vec.memory.canaries", 0, 0, 0);
  // stream(): a 64-byte aligned destination.
  float* aligned = buf.data();
  while (reinterpret_cast<uintptr_t>(aligned) % 64 != 0) ++aligned;
  if (aligned + W <= end) {
    V::load(src).stream(aligned);
    V::fence();
    for (int i = 0; i < W; ++i) check(aligned[i] == src[i], "vec.stream", i, aligned[i], src[i]);
  }
}

void test_integers() {
  int32_t a[W], b[W], r[W];
  const int32_t ivals[] = {0, 1, -1, 7, -8, 255, 0x7FFFFFFF, INT32_MIN, 0x12345678, -0x1234567, 1 << 23, 42};
  constexpr int kI = sizeof ivals / sizeof ivals[0];
  auto u = [](int32_t x) { return static_cast<uint32_t>(x); };
  for (int j = 0; j < kI; ++j) {
    for (int i = 0; i < W; ++i) {
      a[i] = ivals[(j + i) % kI];
      b[i] = ivals[(j + 5 * i + 3) % kI];
    }
    const I va = I::load(a), vb = I::load(b);
    const struct {
      const char* what;
      I got;
      uint32_t (*want)(uint32_t, uint32_t);
    } ops[] = {
        {"int.add", va + vb, [](uint32_t x, uint32_t y) { return x + y; }},
        {"int.sub", va - vb, [](uint32_t x, uint32_t y) { return x - y; }},
        {"int.and", va & vb, [](uint32_t x, uint32_t y) { return x & y; }},
        {"int.or", va | vb, [](uint32_t x, uint32_t y) { return x | y; }},
        {"int.xor", va ^ vb, [](uint32_t x, uint32_t y) { return x ^ y; }},
        {"int.shl", vec::target::shl<3>(va), [](uint32_t x, uint32_t) { return x << 3; }},
        {"int.shr", vec::target::shr<23>(va), [](uint32_t x, uint32_t) { return x >> 23; }},
        {"int.sar", vec::target::sar<5>(va),
         [](uint32_t x, uint32_t) { return (x >> 5) | ((x >> 31) ? 0xF8000000u : 0u); }},
    };
    for (const auto& op : ops) {
      op.got.store(r);
      for (int i = 0; i < W; ++i) {
        const uint32_t want = op.want(u(a[i]), u(b[i]));
        check(u(r[i]) == want, op.what, j, static_cast<float>(r[i]), static_cast<float>(want));
      }
    }
    float f[W];
    select(eq(va, vb), V::set1(1.0f), V::zero()).store(f);
    for (int i = 0; i < W; ++i) check(f[i] == (a[i] == b[i] ? 1.0f : 0.0f), "int.eq", j, f[i], a[i] == b[i]);
    select(gt(va, vb), V::set1(1.0f), V::zero()).store(f);
    for (int i = 0; i < W; ++i) check(f[i] == (a[i] > b[i] ? 1.0f : 0.0f), "int.gt", j, f[i], a[i] > b[i]);
    convert_to_float(va).store(f);
    for (int i = 0; i < W; ++i) {
      check(f[i] == static_cast<float>(a[i]), "int.convert_to_float", j, f[i], static_cast<float>(a[i]));
    }
    I::set1(ivals[j]).store(r);
    for (int i = 0; i < W; ++i) check(r[i] == ivals[j], "int.set1", j, r[i], ivals[j]);
  }
  float fa[W];
  for (int j = 0; j < kCount; ++j) {
    lanes(j, 1, fa);
    convert_to_int(V::load(fa)).store(r);
    for (int i = 0; i < W; ++i) {
      const float x = nearbyintf(fa[i]);
      if (!(x >= -2147483648.0f && x < 2147483648.0f)) continue;  // unspecified
      check(r[i] == static_cast<int32_t>(x), "vec.convert_to_int", j, static_cast<float>(r[i]), x);
    }
    bitcast_to_int(V::load(fa)).store(r);
    for (int i = 0; i < W; ++i) check(u(r[i]) == bits(fa[i]), "vec.bitcast_to_int", j, r[i], bits(fa[i]));
    float back[W];
    bitcast_to_float(I::load(r)).store(back);
    for (int i = 0; i < W; ++i) check(bits(back[i]) == bits(fa[i]), "vec.bitcast_to_float", j, back[i], fa[i]);
  }
  I::zero().store(r);
  for (int i = 0; i < W; ++i) check(r[i] == 0, "int.zero", i, r[i], 0);
}

}  // namespace

void INSTNORM_PASTE(INSTNORM_TARGET_ISA, _vec_tests)() {
  test_arithmetic();
  test_compare_select();
  test_reductions();
  test_transpose_sum();
  test_memory();
  test_integers();
}

}  // namespace test
}  // namespace instnorm
