// How stored vectors (the corpus index) are typed in files and memory: one enum for every layer.
#pragma once

namespace rr {

enum class VectorType {
  Float32,
  Float16,   // IEEE binary16 (c10::Half; h5py reads it as numpy float16)
  BFloat16,  // bfloat16, the upper half of a float32 (c10::BFloat16); in HDF5 a custom float type (8-bit
             // exponent, 7-bit mantissa) that HDF5 converts on read: h5py reads it as float32
};

// Bytes per stored value.
inline int vector_type_size(VectorType t) {
  return t == VectorType::Float32 ? 4 : 2;
}

}  // namespace rr
