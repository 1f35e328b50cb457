// Adaptive instance normalization (Huang & Belongie, 2017): each content
// plane normalized, then scaled by the matching style plane's standard
// deviation and shifted by its mean; alpha blends with the content. It is
// group norm with groups = C and a per-sample affine taken from the style's
// statistics, so it runs on the group-norm op plus one pass over the style.
#pragma once
#include <cstdint>

#include "op.h"

namespace instnorm {
namespace ops {

struct AdaINFields {
  int64_t n, c, s;          // content [N, C, S]
  int64_t style_n, style_s; // style [styleN, C, styleS], styleN = 1 (broadcast) or N
  bool channels_last, unbiased;
  double eps, alpha;

  const char* check() const;
  void scalars(FieldVisitor& v) {
    v.dim("n", n);
    v.dim("c", c);
    v.dim("s", s);
    v.dim("styleN", style_n);
    v.dim("styleS", style_s);
    v.flag("channelsLast", channels_last);
    v.flag("unbiased", unbiased);
    v.number("eps", eps);
    v.number("alpha", alpha);
  }
  int64_t numel() const { return sat_mul(n, c, s); }
  int64_t style_numel() const { return sat_mul(style_n, c, style_s); }
};

struct AdaINForward : AdaINFields {
  const float* content;
  const float* style;
  float* y;

  void fields(FieldVisitor& v) {
    scalars(v);
    v.in("content", content, numel(), Need::kRequired);
    v.in("style", style, style_numel(), Need::kRequired);
    v.out("out", y, numel(), Need::kRequired, {"content"});
  }
};

struct AdaINBackward : AdaINFields {
  const float* dy;
  const float* content;
  const float* style;
  float* dcontent;
  float* dstyle;

  void fields(FieldVisitor& v) {
    scalars(v);
    v.in("dy", dy, numel(), Need::kRequired);
    v.in("content", content, numel(), Need::kRequired);
    v.in("style", style, style_numel(), Need::kRequired);
    v.out("dcontent", dcontent, numel(), Need::kRequired, {"dy", "content"});
    v.out("dstyle", dstyle, style_numel(), Need::kRequired);
  }
};

void adain_forward(const Context& ctx, const AdaINForward& d);
void adain_backward(const Context& ctx, const AdaINBackward& d);

}  // namespace ops
}  // namespace instnorm
