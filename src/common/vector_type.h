// How stored vectors (the corpus index) are typed in files and memory: one enum for every layer.
#pragma once

namespace rr {

enum class VectorType {
  Float32,
  Float16,  // IEEE binary16 (c10::Half; h5py reads it as numpy float16)
};

}  // namespace rr
