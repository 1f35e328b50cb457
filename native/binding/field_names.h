// The other reader of a descriptor's field list: collects the field names
// in order, which is the positional order JavaScript passes them in.
#pragma once
#include <string>
#include <vector>

#include "../ops/op.h"

namespace instnorm {
namespace binding {

class FieldNames final : public ops::FieldVisitor {
 public:
  std::vector<std::string> names;

  void dim(const char* n, int64_t&) override { names.emplace_back(n); }
  void integer(const char* n, int64_t&, int64_t, int64_t) override { names.emplace_back(n); }
  void number(const char* n, double&) override { names.emplace_back(n); }
  void flag(const char* n, bool&) override { names.emplace_back(n); }
  void in(const char* n, const float*&, int64_t, ops::Need) override { names.emplace_back(n); }
  void in(const char* n, const double*&, int64_t, ops::Need) override { names.emplace_back(n); }
  void in(const char* n, const int32_t*&, int64_t, ops::Need) override { names.emplace_back(n); }
  void out(const char* n, float*&, int64_t, ops::Need, std::initializer_list<const char*>) override {
    names.emplace_back(n);
  }
  void out(const char* n, double*&, int64_t, ops::Need) override { names.emplace_back(n); }
  void inout(const char* n, float*&, int64_t, ops::Need, bool) override { names.emplace_back(n); }
};

}  // namespace binding
}  // namespace instnorm
