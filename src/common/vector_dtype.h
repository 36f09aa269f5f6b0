// The torch dtype that holds stored vectors of a VectorType, value for value.
#pragma once

#include <c10/core/ScalarType.h>

#include "common/vector_type.h"

namespace rr {

inline c10::ScalarType vector_dtype(VectorType t) {
  return t == VectorType::Float16 ? c10::kHalf : t == VectorType::BFloat16 ? c10::kBFloat16 : c10::kFloat;
}

inline VectorType vector_type_of(c10::ScalarType dtype) {
  return dtype == c10::kHalf       ? VectorType::Float16
         : dtype == c10::kBFloat16 ? VectorType::BFloat16
                                   : VectorType::Float32;
}

}  // namespace rr
