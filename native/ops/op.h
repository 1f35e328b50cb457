// What an operation is, to the rest of the addon: a descriptor struct whose
// fields are declared once, in its `fields(FieldVisitor&)` method, and a
// function that runs it. The binding reads a call's arguments into the
// struct through that one method (types, lengths and aliasing checked on
// the real addresses before anything runs), and tells JavaScript the field
// order from the same method, so adding an argument is one line.
//
// Nothing here knows N-API: an op's .cc file registers itself with
// INSTNORM_OP and stays plain C++.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <type_traits>

#include "../kernels/microkernels.h"

namespace instnorm {
namespace ops {

// What every op gets besides its descriptor: the ISA's kernels and how
// many threads it may use (>= 1).
struct Context {
  const kernels::KernelTable& k;
  int threads;
};

// a * b for element counts, saturating instead of overflowing: a length
// that saturates can never match a real array, so the reader refuses it.
inline int64_t sat_mul(int64_t a, int64_t b) {
  if (a <= 0 || b <= 0) return a < 0 || b < 0 ? INT64_MAX : 0;
  return a > INT64_MAX / b ? INT64_MAX : a * b;
}
inline int64_t sat_mul(int64_t a, int64_t b, int64_t c) { return sat_mul(sat_mul(a, b), c); }

enum class Need { kRequired, kOptional };

// Visits a descriptor's fields in order. `name` is the field's name in the
// JavaScript descriptor (and in error messages). Array fields come after
// the scalars their lengths depend on. An output may be exactly one of the
// inputs listed in `may_equal` (an elementwise in-place call); any other
// overlap between an output and another array is refused.
class FieldVisitor {
 public:
  virtual void dim(const char* name, int64_t& v) = 0;                   // integer >= 1
  virtual void integer(const char* name, int64_t& v, int64_t lo, int64_t hi) = 0;
  virtual void number(const char* name, double& v) = 0;                 // finite
  virtual void flag(const char* name, bool& v) = 0;
  virtual void in(const char* name, const float*& p, int64_t len, Need need) = 0;
  virtual void in(const char* name, const double*& p, int64_t len, Need need) = 0;
  virtual void in(const char* name, const int32_t*& p, int64_t len, Need need) = 0;
  virtual void out(const char* name, float*& p, int64_t len, Need need,
                   std::initializer_list<const char*> may_equal = {}) = 0;
  virtual void out(const char* name, double*& p, int64_t len, Need need) = 0;
  // Read, then written when `written` (running statistics in training): an
  // output for aliasing and for async copies only when written.
  virtual void inout(const char* name, float*& p, int64_t len, Need need, bool written) = 0;

 protected:
  ~FieldVisitor() = default;
};

// A registered op, type-erased for the binding. Descriptors are plain
// structs (trivially copyable), so an async call can keep a byte copy.
struct OpEntry {
  const char* name;
  size_t size;
  void (*construct)(void*);  // value-initialises a descriptor in `size` bytes
  void (*fields)(void*, FieldVisitor&);
  // After the fields are read: nullptr, or why the values do not fit
  // together (a RangeError message).
  const char* (*check)(const void*);
  void (*run)(const Context&, const void*);
};

bool add_op(const OpEntry& e);
// Every registered op, in registration order; `count` receives how many.
const OpEntry* registered_ops(int* count);

template <class D, void (*Fn)(const Context&, const D&)>
OpEntry op_entry(const char* name) {
  static_assert(std::is_trivially_copyable<D>::value && std::is_trivially_destructible<D>::value,
                "a descriptor holds only scalars and pointers");
  return {name,
          sizeof(D),
          [](void* m) { new (m) D{}; },
          [](void* d, FieldVisitor& v) { static_cast<D*>(d)->fields(v); },
          [](const void* d) { return static_cast<const D*>(d)->check(); },
          [](const Context& c, const void* d) { Fn(c, *static_cast<const D*>(d)); }};
}

}  // namespace ops
}  // namespace instnorm

// Registers `fn` (void fn(const Context&, const D&)) as the op `js_name`.
#define INSTNORM_OP(js_name, D, fn) \
  static const bool instnorm_registered_##fn = ::instnorm::ops::add_op(::instnorm::ops::op_entry<D, fn>(js_name))
