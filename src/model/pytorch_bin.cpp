#include "model/pytorch_bin.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"

namespace rr {

namespace {

// LibTorch 1.13's zip reader (miniz) trusts the archive's offsets and sizes: a damaged or hostile file makes
// it read out of bounds. So the archive's structure is checked here first, against the file's size, with the
// same rules miniz relies on: the end record (or its zip64 form), the central directory, and every entry's
// local header and data lying inside the file.
class ZipCheck {
 public:
  ZipCheck(const std::vector<char>& bytes, const std::filesystem::path& path) : b_(bytes), path_(path) {}

  // Returns where the pickle (<archive>/data.pkl) lies: {offset, size}.
  std::pair<uint64_t, uint64_t> run() const {
    std::pair<uint64_t, uint64_t> pickle{0, 0};
    const uint64_t n = b_.size();
    if (n < 22) bad("too short for a zip archive");
    uint64_t end = n - 22;
    const uint64_t lowest = n > 22 + 65535 ? n - 22 - 65535 : 0;
    while (u32(end) != 0x06054b50) {
      if (end == lowest) bad("no zip end-of-central-directory record");
      --end;
    }
    uint64_t entries = u16(end + 10), cd_size = u32(end + 12), cd_offset = u32(end + 16);
    // Like miniz: a zip64 locator just before the end record means the zip64 record's values count.
    const bool zip64 = end >= 20 && u32(end - 20) == 0x07064b50;
    if (!zip64 && (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF))
      bad("zip64 fields without a zip64 locator");
    if (zip64) {
      const uint64_t record = u64(end - 20 + 8);
      need(record, 56, "zip64 end record");
      if (u32(record) != 0x06064b50) bad("bad zip64 end record");
      entries = u64(record + 32);
      cd_size = u64(record + 40);
      cd_offset = u64(record + 48);
    }
    need(cd_offset, cd_size, "central directory");
    uint64_t at = cd_offset;
    for (uint64_t e = 0; e < entries; ++e) {
      need(at, 46, "central directory entry");
      if (u32(at) != 0x02014b50) bad("bad central directory entry");
      const uint64_t name = u16(at + 28), extra = u16(at + 30), comment = u16(at + 32);
      need(at, 46 + name + extra + comment, "central directory entry");
      if (at + 46 + name + extra + comment > cd_offset + cd_size) bad("central directory entry overruns it");
      uint64_t comp = u32(at + 20), size = u32(at + 24), local = u32(at + 42);
      zip64_sizes(at + 46 + name, extra, size, comp, local);
      if (u16(at + 10) != 0) bad("compressed entry (torch.save stores every record uncompressed)");
      need(local, 30, "local header");
      if (u32(local) != 0x04034b50) bad("bad local header");
      const uint64_t data = local + 30 + u16(local + 26) + u16(local + 28);
      need(data, comp, "entry data");
      if (comp != size) bad("stored entry with different sizes");
      const std::string entry_name(b_.data() + at + 46, name);
      if (entry_name.size() >= 9 && entry_name.compare(entry_name.size() - 9, 9, "/data.pkl") == 0)
        pickle = {data, size};
      at += 46 + name + extra + comment;
    }
    if (pickle.second == 0) bad("no data.pkl record");
    return pickle;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    RR_THROW(Input, "{}: not a readable PyTorch checkpoint (damaged zip archive: {})", path_.string(), what);
  }
  // [at, at + len) must lie inside the file.
  void need(uint64_t at, uint64_t len, const char* what) const {
    if (at > b_.size() || len > b_.size() - at) bad(std::string(what) + " outside the file");
  }
  uint64_t le(uint64_t at, int bytes) const {
    need(at, static_cast<uint64_t>(bytes), "field");
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(b_[at + static_cast<uint64_t>(i)]);
    return v;
  }
  uint64_t u16(uint64_t at) const { return le(at, 2); }
  uint64_t u32(uint64_t at) const { return le(at, 4); }
  uint64_t u64(uint64_t at) const { return le(at, 8); }
  // The zip64 extra field (id 1) holds, in this order, whichever of size, compressed size and local header
  // offset are 0xFFFFFFFF in the fixed fields.
  void zip64_sizes(uint64_t extra, uint64_t len, uint64_t& size, uint64_t& comp, uint64_t& local) const {
    for (uint64_t at = extra; at + 4 <= extra + len;) {
      const uint64_t id = u16(at), n = u16(at + 2);
      if (id == 1) {
        uint64_t field = at + 4;
        for (uint64_t* v : {&size, &comp, &local})
          if (*v == 0xFFFFFFFF) {
            if (field + 8 > at + 4 + n) bad("short zip64 extra field");
            *v = u64(field);
            field += 8;
          }
        return;
      }
      at += 4 + n;
    }
  }
  const std::vector<char>& b_;
  const std::filesystem::path& path_;
};

// LibTorch's unpickler sizes strings and containers from the pickle before checking them against the data
// (a 4-byte length of 4 GB is reserved as asked). So the opcodes are walked here first: each must be known
// and every argument and length-prefixed payload must fit in the pickle.
void check_pickle(const char* p, uint64_t n, const std::filesystem::path& path) {
  auto bad = [&](uint64_t at, const std::string& what) {
    RR_THROW(Input, "{}: not a readable PyTorch checkpoint (pickle byte {}: {})", path.string(), at, what);
  };
  auto le = [&](uint64_t at, int bytes) {
    if (at + static_cast<uint64_t>(bytes) > n) bad(at, "argument past the end");
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[at + static_cast<uint64_t>(i)]);
    return v;
  };
  auto line_end = [&](uint64_t at) {
    const void* nl = at < n ? std::memchr(p + at, '\n', n - at) : nullptr;
    if (!nl) bad(at, "unterminated line argument");
    return static_cast<uint64_t>(static_cast<const char*>(nl) - p) + 1;
  };
  // The memo: a pickler numbers its entries 0, 1, 2, ... and LibTorch sizes its table by the index it reads,
  // so an index out of that sequence (a forged 4-byte one would allocate gigabytes) is refused.
  uint64_t memo = 0;
  auto put = [&](uint64_t at, uint64_t index) {
    if (index > memo) bad(at, "memo index out of sequence");
    memo = std::max(memo, index + 1);
  };
  auto get = [&](uint64_t at, uint64_t index) {
    if (index >= memo) bad(at, "memo index never stored");
  };
  auto decimal = [&](uint64_t at) {
    return std::strtoull(std::string(p + at, line_end(at) - at).c_str(), nullptr, 10);
  };
  // Opcodes without an argument (protocols 0-5).
  static const std::string kNoArgument =
      std::string("}(tNRQusae)]b012dlo") + "\x85\x86\x87\x88\x89\x81\x92\x93\x8f\x90\x91\x97\x98";
  for (uint64_t at = 0; at < n;) {
    const char op = p[at++];
    if (op == '.') return;
    if (kNoArgument.find(op) != std::string::npos) continue;
    switch (op) {
      case '\x94':  // MEMOIZE: the next index
        put(at - 1, memo);
        break;
      case 'q':  // BINPUT, LONG_BINPUT, PUT
        put(at, le(at, 1)), at += 1;
        break;
      case 'r':
        put(at, le(at, 4)), at += 4;
        break;
      case 'p':
        put(at, decimal(at)), at = line_end(at);
        break;
      case 'h':  // BINGET, LONG_BINGET, GET
        get(at, le(at, 1)), at += 1;
        break;
      case 'j':
        get(at, le(at, 4)), at += 4;
        break;
      case 'g':
        get(at, decimal(at)), at = line_end(at);
        break;
      case '\x80':
      case 'K':
        at += 1;
        break;  // PROTO, BININT1
      case 'M':
        at += 2;
        break;  // BININT2
      case 'J':
        at += 4;
        break;  // BININT
      case 'G':
      case '\x95':
        at += 8;
        break;  // BINFLOAT, FRAME
      case '\x8a':
      case 'C':
      case 'U':
      case '\x8c':
        at += 1 + le(at, 1);
        break;  // 1-byte lengths
      case '\x8b':
      case 'X':
      case 'B':
      case 'T':
        at += 4 + le(at, 4);
        break;  // 4-byte lengths
      case '\x8d':
      case '\x8e':
      case '\x96': {  // 8-byte lengths
        const uint64_t len = le(at, 8);
        if (len > n) bad(at, "length past the end");
        at += 8 + len;
        break;
      }
      case 'c':
      case 'i':
        at = line_end(line_end(at));
        break;  // GLOBAL, INST: two lines
      case 'I':
      case 'L':
      case 'S':
      case 'V':
      case 'F':
      case 'P':
        at = line_end(at);
        break;
      default:
        bad(at - 1, fmt::format("unknown opcode 0x{:02x}", static_cast<uint8_t>(op)));
    }
    if (at > n) bad(n, "argument past the end");
  }
  bad(n, "no STOP opcode");
}

}  // namespace

TensorMap read_pytorch_bin(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RR_THROW(Input, "{}: cannot open", path.string());
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto [pickle, pickle_size] = ZipCheck(bytes, path).run();
  check_pickle(bytes.data() + pickle, pickle_size, path);
  c10::IValue value;
  try {
    value = torch::jit::pickle_load(bytes);
  } catch (const std::exception& e) {
    std::string msg = e.what();
    RR_THROW(Input, "{}: not a readable PyTorch checkpoint (truncated or corrupt?): {}", path.string(),
             msg.substr(0, msg.find('\n')));
  }
  if (!value.isGenericDict()) RR_THROW(Input, "{}: checkpoint is not a dict of tensors", path.string());
  TensorMap out;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString() || !item.value().isTensor()) continue;
    at::Tensor t = item.value().toTensor();
    out.emplace(item.key().toStringRef(),
                t.is_floating_point() ? t.to(at::kFloat).contiguous() : t.contiguous());
  }
  return out;
}

}  // namespace rr
