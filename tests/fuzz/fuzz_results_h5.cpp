// HDF5 results files as others send them: written by rr's own writer from fuzzed operations (groups, numeric
// and string datasets of any shape and content, attributes, names with odd bytes), optionally cut short at a
// fuzzed length, then every group walked and every dataset and attribute read the ways rr reads them; each
// read gives data or an rr::Error, never a crash or an allocation larger than the file stores.
//
// Structure-aware on purpose: raw byte mutation of an HDF5 file crashes libhdf5 1.10 itself within seconds
// (e.g. a heap-buffer-overflow in H5HG_read while reading variable-length strings), which no reader built on
// that library can prevent.
#include <fuzzer/FuzzedDataProvider.h>

#include <ATen/ATen.h>

#include <filesystem>

#include "common/error.h"
#include "h5data/h5_file.h"
#include "h5data/results_update.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

template <typename Fn>
void tolerate(Fn&& fn) {
  try {
    fn();
  } catch (const rr::Error&) {
  }
}

std::string object_name(FuzzedDataProvider& in) {
  static const char* groups[] = {"/metrics", "/routing", "/runs", "/meta", "/scores", "/routers", ""};
  return std::string(in.PickValueInArray(groups)) + "/" + in.ConsumeRandomLengthString(12);
}

void write_some(FuzzedDataProvider& in, rr::h5::File& f) {
  const int ops = in.ConsumeIntegralInRange(0, 10);
  for (int i = 0; i < ops && in.remaining_bytes() > 0; ++i) {
    const std::string object = object_name(in);
    switch (in.ConsumeIntegralInRange(0, 4)) {
      case 0: {
        static const at::ScalarType types[] = {at::kFloat, at::kDouble, at::kInt, at::kLong};
        const int64_t rows = in.ConsumeIntegralInRange(0, 40), cols = in.ConsumeIntegralInRange(1, 6);
        at::Tensor t = at::zeros({rows, cols}, at::kDouble);
        for (int64_t j = 0; j < t.numel() && in.remaining_bytes() > 0; ++j)
          t.data_ptr<double>()[j] = in.ConsumeFloatingPoint<double>();
        tolerate([&] { f.write(object, t.to(in.PickValueInArray(types))); });
        break;
      }
      case 1: {
        std::vector<std::string> values(in.ConsumeIntegralInRange(0, 20));
        for (auto& v : values) v = in.ConsumeRandomLengthString(40);
        tolerate([&] { f.write_strings(object, values); });
        break;
      }
      case 2:
        tolerate([&] { f.create_group(object); });
        tolerate([&] { f.set_attr(object, "fingerprint", in.ConsumeRandomLengthString(30)); });
        break;
      case 3:
        tolerate(
            [&] { f.set_attr(object, "names", std::vector<std::string>{in.ConsumeRandomLengthString(9)}); });
        break;
      default:
        tolerate([&] { f.set_attr(object, "ranks", in.ConsumeIntegral<int64_t>()); });
    }
  }
}

void walk(const rr::h5::File& f, const std::string& group, int depth) {
  if (depth > 6) return;
  std::vector<std::string> names;
  tolerate([&] { names = f.members(group); });
  for (const auto& name : names) {
    const std::string object = (group == "/" ? "" : group) + "/" + name;
    tolerate([&] { f.read(object); });
    tolerate([&] { f.read_strings(object); });
    tolerate([&] { f.read_range(object, 0, 2); });
    tolerate([&] { f.shape(object); });
    tolerate([&] { f.attr_strings(object, "names"); });
    tolerate([&] { f.attr_string(object, "fingerprint"); });
    tolerate([&] { f.attr_int64(object, "ranks"); });
    walk(f, object, depth + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const auto path = rr::fuzz::scratch("results.h5", nullptr, 0);
  std::filesystem::remove(path);
  tolerate([&] {
    auto f = rr::h5::File::create(path);
    write_some(in, f);
    f.close();
  });
  if (in.ConsumeBool() && std::filesystem::exists(path))  // a copy cut short
    std::filesystem::resize_file(path,
                                 in.ConsumeIntegralInRange<uintmax_t>(0, std::filesystem::file_size(path)));
  tolerate([&] { rr::h5::stage_fingerprint(path, "evaluate"); });
  tolerate([&] { walk(rr::h5::File::open(path, false), "/", 0); });
  return 0;
}
