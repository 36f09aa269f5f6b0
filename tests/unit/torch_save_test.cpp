// PyTorch checkpoints: what torch.load reads (tests/fixtures/torch_save/make_torch_save_fixtures.py) and
// damaged or hostile files, each a clear Input error. Several of these inputs made LibTorch 1.13's
// unpickler read out of bounds (a storage larger than its record, a stack underflow, an integer taken for a
// dtype); rr now checks the zip and runs the pickle itself (model/torch_save_format.cpp).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "model/pytorch_bin.h"
#include "tests/test_support.h"

namespace rr {
namespace {

using namespace std::string_literals;

const std::string kFixtures = std::string(RR_SOURCE_DIR) + "/tests/fixtures/torch_save/";

TEST(TorchSave, ReadsWhatTorchLoadReads) {
  std::ifstream in(kFixtures + "torch_save_reference.json");
  const nlohmann::json reference = nlohmann::json::parse(in);
  ASSERT_EQ(reference.size(), 3u);
  for (const auto& [file, tensors] : reference.items()) {
    SCOPED_TRACE(file);
    const TensorMap got = read_pytorch_bin(kFixtures + file);
    ASSERT_EQ(got.size(), tensors.size());
    for (const auto& [name, want] : tensors.items()) {
      SCOPED_TRACE(name);
      ASSERT_TRUE(got.count(name));
      const at::Tensor& t = got.at(name);
      EXPECT_TRUE(t.is_contiguous());
      EXPECT_EQ(t.sizes().vec(), want["shape"].get<std::vector<int64_t>>());
      const std::string dtype = want["dtype"];
      const at::ScalarType type = dtype == "float32" ? at::kFloat
                                  : dtype == "int64" ? at::kLong
                                  : dtype == "int32" ? at::kInt
                                                     : at::kBool;
      ASSERT_EQ(t.scalar_type(), type) << dtype;
      const at::Tensor flat = t.reshape({-1}).to(at::kDouble);
      const auto values = want["values"].get<std::vector<double>>();
      ASSERT_EQ(flat.numel(), static_cast<int64_t>(values.size()));
      for (size_t i = 0; i < values.size(); ++i)
        EXPECT_EQ(flat[static_cast<int64_t>(i)].item<double>(), values[i]) << "element " << i;
    }
  }
  // Tied weights are one storage in the file; both keys hold its values.
  const TensorMap sd = read_pytorch_bin(kFixtures + "state_dict.bin");
  EXPECT_TRUE(at::equal(sd.at("embed.weight"), sd.at("proj.weight")));
}

// A stored zip archive as torch.save lays it out: <archive>/data.pkl, <archive>/data/<key>, ...
std::string zip(const std::vector<std::pair<std::string, std::string>>& records) {
  auto le = [](uint64_t v, int bytes) {
    std::string s;
    for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>(v >> (8 * i) & 0xFF));
    return s;
  };
  std::string body, directory;
  for (const auto& [name, data] : records) {
    const uint64_t crc = crc32_z(0, reinterpret_cast<const Bytef*>(data.data()), data.size());
    const std::string common = le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) + le(data.size(), 4) +
                               le(data.size(), 4) + le(name.size(), 2) + le(0, 2);
    directory += le(0x02014b50, 4) + le(20, 2) + common + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) +
                 le(body.size(), 4) + name;
    body += le(0x04034b50, 4) + common + name + data;
  }
  return body + directory + le(0x06054b50, 4) + le(0, 4) + le(records.size(), 2) + le(records.size(), 2) +
         le(directory.size(), 4) + le(body.size(), 4) + le(0, 2);
}

// A protocol-2 pickle of {"w": _rebuild_tensor_v2(storage 0 of `numel` floats, offset, (2, 3), stride)}.
std::string state_dict_pickle(char numel, char offset, const std::string& stride = "K\x03K\x01") {
  return "\x80\x02}(X\x01\0\0\0wctorch._utils\n_rebuild_tensor_v2\n((X\x07\0\0\0storage"s +
         "ctorch\nFloatStorage\nX\x01\0\0\0"s + "0X\x03\0\0\0cpuK"s + numel + "tQK" + offset +
         "K\x02K\x03\x86" + stride + "\x86\x89" + "ccollections\nOrderedDict\n)RtRu.";
}

std::string floats(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    const float v = static_cast<float>(i);
    s.append(reinterpret_cast<const char*>(&v), 4);
  }
  return s;
}

TEST(TorchSave, AHandMadeArchiveAndEachDamageToIt) {
  test::TempDir t;
  auto write = [&](const std::string& name, const std::string& pickle,
                   const std::string& storage = floats(8)) {
    test::write_file(t / name, zip({{"archive/data.pkl", pickle}, {"archive/data/0", storage}}));
    return t / name;
  };
  // Storage of 8 floats 0..7; the view (2, 3) at offset 1 with strides (3, 1) holds 1..6.
  const TensorMap ok = read_pytorch_bin(write("ok.bin", state_dict_pickle(8, 1)));
  EXPECT_TRUE(at::equal(ok.at("w"), at::arange(1, 7, at::kFloat).reshape({2, 3})));
  // Strides (1, 2) at offset 0: a transposed view, made contiguous.
  const TensorMap strided = read_pytorch_bin(write("strided.bin", state_dict_pickle(8, 0, "K\x01K\x02")));
  EXPECT_TRUE(at::equal(strided.at("w"), at::tensor({0.f, 2.f, 4.f, 1.f, 3.f, 5.f}).reshape({2, 3})));

  struct Case {
    const char* name;
    std::string pickle;
    std::string storage;
    const char* says;
  };
  std::string deep(200000, ']');
  deep += std::string(199999, 'a') + ".";
  const std::vector<Case> cases{
      {"numel.bin", state_dict_pickle(100, 0), floats(8), "its 100 elements need 400"},
      {"offset.bin", state_dict_pickle(8, 3), floats(8), "reaches past its storage of 8 elements"},
      {"negative.bin", state_dict_pickle(8, 0, "J\xff\xff\xff\xffK\x01"), floats(8),
       "stride -1 out of range"},
      {"record.bin", state_dict_pickle(8, 0), "", "holds 0 bytes"},
      {"dtype.bin", "\x80\x02K\x05q\0(X\x07\0\0\0storageh\0X\x01\0\0\0"s + "0X\x03\0\0\0cpuK\x01tQ."s,
       floats(8), "expected a storage class"},
      {"odd.bin",
       "\x80\x02(K\x01"
       "d.",
       "", "odd number of dict items"},
      {"underflow.bin", "\x80\x02\x85.", "", "stack underflow"},
      {"below-mark.bin", "\x80\x02K\x01(\x86.", "", "stack underflow"},
      {"no-mark.bin", "\x80\x02]e.", "", "no MARK"},
      {"global.bin",
       "\x80\x02"
       "cos\nsystem\nX\x02\0\0\0idR."s,
       "", "global os.system is not part of"},
      {"memo.bin", "\x80\x02j\xff\xff\xff\xff.", "", "memo index 4294967295 never stored"},
      {"long.bin", "\x80\x02\x8a\x09" + std::string(9, '\x01') + ".", "", "integer wider than 64 bits"},
      {"string.bin", "\x80\x02X\xff\xff\xff\xf0", "", "length past the end"},
      {"opcode.bin", "\x80\x02\xff.", "", "opcode 0xff"},
      {"protocol.bin", "\x80\x01}.", "", "pickle protocol 1"},
      {"no-stop.bin", "\x80\x02}", "", "no STOP opcode"},
      {"two-values.bin", "\x80\x02}}.", "", "STOP with 2 values"},
      {"not-a-dict.bin", "\x80\x02].", "", "not a dict"},
      // 200,000 nested lists: no recursion anywhere (parsing or freeing), only "not a dict".
      {"deep.bin", deep, "", "not a dict"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto path = write(c.name, c.pickle, c.storage);
    test::expect_input_error([&] { read_pytorch_bin(path); },
                             {c.name, "not a readable PyTorch checkpoint", c.says});
  }

  // The zip: a flipped bit in a weight fails its CRC; a big-endian checkpoint is refused, not misread.
  std::string flipped = zip({{"archive/data.pkl", state_dict_pickle(8, 1)}, {"archive/data/0", floats(8)}});
  flipped[flipped.find(floats(8)) + 5] ^= 0x10;
  test::write_file(t / "flipped.bin", flipped);
  test::expect_input_error([&] { read_pytorch_bin(t / "flipped.bin"); },
                           {"flipped.bin", "record archive/data/0 fails its CRC-32 check"});
  test::write_file(t / "big.bin", zip({{"archive/data.pkl", state_dict_pickle(8, 1)},
                                       {"archive/data/0", floats(8)},
                                       {"archive/byteorder", "big"}}));
  test::expect_input_error([&] { read_pytorch_bin(t / "big.bin"); }, {"big.bin", "byte order 'big'"});
  test::write_file(t / "no-pickle.bin", zip({{"archive/data/0", floats(8)}}));
  test::expect_input_error([&] { read_pytorch_bin(t / "no-pickle.bin"); },
                           {"no-pickle.bin", "no <archive>/data.pkl"});
}

// A pytorch_model.bin whose pickle calls os.system (tests/fuzz/corpus/pytorch_bin/seed2-os-system): refused
// before anything runs, naming the global.
TEST(TorchSave, APickleThatWouldRunCodeIsOnlyAnError) {
  std::filesystem::remove("/tmp/rrX");
  const std::string file = std::string(RR_SOURCE_DIR) + "/tests/fuzz/corpus/pytorch_bin/seed2-os-system";
  test::expect_input_error([&] { read_pytorch_bin(file); },
                           {"seed2-os-system", "not a readable PyTorch", "global"});
  EXPECT_FALSE(std::filesystem::exists("/tmp/rrX"));
  const TensorMap ok = read_pytorch_bin(std::string(RR_SOURCE_DIR) + "/tests/fuzz/corpus/pytorch_bin/seed1");
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok.at("encoder.layer.0.attention.self.query.weight").sizes(), (std::vector<int64_t>{2, 3}));
  // What CI's fuzzer found (LibTorch's unpickler popped an empty stack: SEGV): seed1 with TUPLE1 first.
  const std::string regression =
      std::string(RR_SOURCE_DIR) + "/tests/fuzz/corpus/pytorch_bin/regression-stack-underflow";
  test::expect_input_error([&] { read_pytorch_bin(regression); },
                           {"regression-stack-underflow", "pickle byte 2: stack underflow"});
  test::TempDir t;
  const std::string whole =
      test::read_file(std::string(RR_SOURCE_DIR) + "/tests/fuzz/corpus/pytorch_bin/seed1");
  test::write_file(t / "cut.bin", whole.substr(0, whole.size() - 30));
  test::expect_input_error([&] { read_pytorch_bin(t / "cut.bin"); }, {"cut.bin", "damaged zip archive"});
}

}  // namespace
}  // namespace rr
