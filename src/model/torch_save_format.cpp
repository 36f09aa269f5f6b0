#include "model/torch_save_format.h"

#include <fmt/format.h>
#include <zlib.h>

#include <array>
#include <cstring>
#include <fstream>
#include <map>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/error.h"

namespace rr {

namespace {

struct Record {
  uint64_t begin = 0, size = 0;  // bytes within the file
};

// The archive's records by name, each checked to lie inside the file (the end record or its zip64 form, the
// central directory, every entry's local header and data) and against its CRC-32.
class ZipDirectory {
 public:
  ZipDirectory(const std::vector<char>& bytes, const std::filesystem::path& path) : b_(bytes), path_(path) {}

  std::map<std::string, Record> read() const {
    const uint64_t n = b_.size();
    if (n < 22) bad("too short for a zip archive");
    uint64_t end = n - 22;
    const uint64_t lowest = n > 22 + 65535 ? n - 22 - 65535 : 0;
    while (u32(end) != 0x06054b50) {
      if (end == lowest) bad("no zip end-of-central-directory record");
      --end;
    }
    uint64_t entries = u16(end + 10), cd_size = u32(end + 12), cd_offset = u32(end + 16);
    // A zip64 locator just before the end record means the zip64 record's values count.
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
    std::map<std::string, Record> records;
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
      const std::string entry(b_.data() + at + 46, name);
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // a fuzzer cannot forge CRCs: it would never pass this
      // What LibTorch's reader checks too: a flipped bit in a weight is an error, never a silent change.
      if (crc32_z(0, reinterpret_cast<const Bytef*>(b_.data() + data), size) != u32(at + 16))
        bad(fmt::format("record {} fails its CRC-32 check", entry));
#endif
      records.emplace(entry, Record{data, size});
      at += 46 + name + extra + comment;
    }
    return records;
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
  uint64_t u16(uint64_t at) const {
    return le(at, 2);
  }
  uint64_t u32(uint64_t at) const {
    return le(at, 4);
  }
  uint64_t u64(uint64_t at) const {
    return le(at, 8);
  }
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

// torch.<Name>Storage: the storage classes of the dtypes a state dict holds.
struct StorageClass {
  std::string_view global, dtype;
  size_t element_size;
};
constexpr std::array<StorageClass, 10> kStorageClasses{{{"FloatStorage", "F32", 4},
                                                        {"DoubleStorage", "F64", 8},
                                                        {"HalfStorage", "F16", 2},
                                                        {"BFloat16Storage", "BF16", 2},
                                                        {"LongStorage", "I64", 8},
                                                        {"IntStorage", "I32", 4},
                                                        {"ShortStorage", "I16", 2},
                                                        {"CharStorage", "I8", 1},
                                                        {"ByteStorage", "U8", 1},
                                                        {"BoolStorage", "BOOL", 1}}};

// Bounds far beyond any checkpoint that keep every product below 2^63.
constexpr int64_t kMaxElements = int64_t{1} << 48;
constexpr size_t kMaxDims = 32;

// A pickle value. Containers hold indices into the interpreter's arena, never owners: memo references
// (BINGET) alias containers as Python's do, and no nesting or cycle makes destruction recursive.
struct Value {
  enum class Kind : uint8_t {
    None,
    Bool,
    Int,
    Float,
    Str,
    Tuple,
    List,
    Dict,
    Callable,
    StorageClass,
    Storage,
    Tensor
  };
  Kind kind = Kind::None;
  int64_t i = 0;                // Bool, Int; Callable: which; StorageClass: index; Storage, Tensor: index
  std::string s;                // Str
  std::vector<uint32_t> items;  // Tuple, List; Dict: key, value, key, value, ...
};

enum Callable : int64_t { kOrderedDict, kRebuildTensorV2, kRebuildParameter };

struct Storage {
  size_t storage_class = 0;
  uint64_t begin = 0;
  int64_t numel = 0;
};

// Runs the pickle torch.save writes for a dict of tensors: Python's opcode semantics for the opcodes of
// protocols 2-5 that plain data uses, the persistent ids torch.save gives storages, and these globals:
// collections.OrderedDict, torch._utils._rebuild_tensor_v2 and _rebuild_parameter, torch.<dtype>Storage.
// Anything else (another global, an opcode that builds other objects) is an error naming the pickle byte.
class StateDictUnpickler {
 public:
  StateDictUnpickler(const char* pickle, uint64_t size, std::string archive,
                     const std::map<std::string, Record>& records, const std::filesystem::path& path)
      : p_(pickle), n_(size), archive_(std::move(archive)), records_(records), path_(path) {}

  std::vector<TorchSaveTensor> run() {
    while (true) {
      op_at_ = at_;
      if (at_ >= n_) bad("no STOP opcode");
      const auto op = static_cast<uint8_t>(p_[at_++]);
      if (op == '.') break;
      step(op);
    }
    if (!marks_.empty() || stack_.size() != 1)
      bad(fmt::format("STOP with {} values and {} marks on the stack", stack_.size(), marks_.size()));
    const Value& root = values_[stack_[0]];
    if (root.kind != Value::Kind::Dict)
      bad("the pickled object is not a dict (a state dict is a dict of tensors)");
    std::vector<TorchSaveTensor> out;
    for (size_t k = 0; k < root.items.size(); k += 2) {
      const Value& key = values_[root.items[k]];
      const Value& value = values_[root.items[k + 1]];
      if (key.kind != Value::Kind::Str || value.kind != Value::Kind::Tensor) continue;
      TorchSaveTensor t = tensors_[static_cast<size_t>(value.i)];
      t.name = key.s;
      out.push_back(std::move(t));
    }
    return out;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    RR_THROW(Input, "{}: not a readable PyTorch checkpoint (pickle byte {}: {})", path_.string(), op_at_,
             what);
  }

  // Arguments: little-endian integers, length-prefixed strings and '\n'-terminated lines inside the pickle.
  uint64_t arg(int bytes) {
    if (static_cast<uint64_t>(bytes) > n_ - at_) bad("argument past the end");
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i)
      v = v << 8 | static_cast<uint8_t>(p_[at_ + static_cast<uint64_t>(i)]);
    at_ += static_cast<uint64_t>(bytes);
    return v;
  }
  std::string bytes(uint64_t len) {
    if (len > n_ - at_) bad("length past the end");
    std::string s(p_ + at_, len);
    at_ += len;
    return s;
  }
  std::string line() {
    const void* nl = std::memchr(p_ + at_, '\n', n_ - at_);
    if (!nl) bad("unterminated line argument");
    std::string s = bytes(static_cast<uint64_t>(static_cast<const char*>(nl) - (p_ + at_)));
    ++at_;  // the '\n'
    return s;
  }

  void push(Value v) {
    if (values_.size() == UINT32_MAX) bad("more than 2^32 values");
    values_.push_back(std::move(v));
    stack_.push_back(static_cast<uint32_t>(values_.size() - 1));
  }
  void push_int(int64_t i) { push(Value{Value::Kind::Int, i, {}, {}}); }
  uint32_t pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) bad("stack underflow");
    const uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) bad("stack underflow");
    return values_[stack_.back()];
  }
  // The values above the last MARK, which is dropped.
  std::vector<uint32_t> pop_mark() {
    if (marks_.empty()) bad("no MARK before it");
    std::vector<uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  Value& expect(uint32_t index, Value::Kind kind, const char* what) {
    if (values_[index].kind != kind) bad(fmt::format("expected {}", what));
    return values_[index];
  }
  void dict_insert(Value& dict, const std::vector<uint32_t>& pairs) {
    if (pairs.size() % 2) bad("odd number of dict items");
    dict.items.insert(dict.items.end(), pairs.begin(), pairs.end());
  }
  void memo_put(uint64_t index) {
    if (stack_.empty()) bad("memo store from an empty stack");
    memo_[index] = stack_.back();
  }
  void memo_get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) bad(fmt::format("memo index {} never stored", index));
    stack_.push_back(it->second);
  }
  void tuple(std::vector<uint32_t> items) { push(Value{Value::Kind::Tuple, 0, {}, std::move(items)}); }

  void step(uint8_t op) {
    using K = Value::Kind;
    switch (op) {
      case 0x80: {  // PROTO
        const uint64_t protocol = arg(1);
        if (protocol < 2 || protocol > 5)
          bad(fmt::format("pickle protocol {} (torch.save writes 2)", protocol));
        break;
      }
      case 0x95:
        arg(8);
        break;  // FRAME: a read-ahead hint
      case '(':
        marks_.push_back(stack_.size());
        break;
      case '0':
        pop();
        break;
      case '1':
        pop_mark();
        break;
      case 'N':
        push(Value{});
        break;
      case 0x88:
        push(Value{K::Bool, 1, {}, {}});
        break;
      case 0x89:
        push(Value{K::Bool, 0, {}, {}});
        break;
      case 'K':
        push_int(static_cast<int64_t>(arg(1)));
        break;
      case 'M':
        push_int(static_cast<int64_t>(arg(2)));
        break;
      case 'J':
        push_int(static_cast<int32_t>(static_cast<uint32_t>(arg(4))));
        break;
      case 0x8a: {  // LONG1: a little-endian two's complement integer of n bytes
        const int n = static_cast<int>(arg(1));
        if (n > 8) bad("integer wider than 64 bits");
        uint64_t v = n ? arg(n) : 0;
        if (n && n < 8 && (v >> (8 * n - 1) & 1)) v |= ~uint64_t{0} << (8 * n);
        push_int(static_cast<int64_t>(v));
        break;
      }
      case 'G':  // BINFLOAT (its value is never needed)
        arg(8);
        push(Value{K::Float, 0, {}, {}});
        break;
      case 'X':
        push(Value{K::Str, 0, bytes(arg(4)), {}});
        break;  // BINUNICODE
      case 0x8c:
        push(Value{K::Str, 0, bytes(arg(1)), {}});
        break;  // SHORT_BINUNICODE
      case 0x8d:
        push(Value{K::Str, 0, bytes(arg(8)), {}});
        break;  // BINUNICODE8
      case ')':
        tuple({});
        break;
      case 't':
        tuple(pop_mark());
        break;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        std::vector<uint32_t> items(op - 0x84);
        for (size_t k = items.size(); k-- > 0;) items[k] = pop();
        tuple(std::move(items));
        break;
      }
      case ']':
        push(Value{K::List, 0, {}, {}});
        break;
      case 'l':
        push(Value{K::List, 0, {}, pop_mark()});
        break;
      case 'a': {
        const uint32_t v = pop();
        if (top().kind != K::List) bad("APPEND to a non-list");
        top().items.push_back(v);
        break;
      }
      case 'e': {
        std::vector<uint32_t> items = pop_mark();
        if (top().kind != K::List) bad("APPENDS to a non-list");
        Value& list = top();
        list.items.insert(list.items.end(), items.begin(), items.end());
        break;
      }
      case '}':
        push(Value{K::Dict, 0, {}, {}});
        break;
      case 'd': {
        Value dict{K::Dict, 0, {}, {}};
        dict_insert(dict, pop_mark());
        push(std::move(dict));
        break;
      }
      case 's': {
        const uint32_t v = pop(), k = pop();
        if (top().kind != K::Dict) bad("SETITEM on a non-dict");
        dict_insert(top(), {k, v});
        break;
      }
      case 'u': {
        std::vector<uint32_t> items = pop_mark();
        if (top().kind != K::Dict) bad("SETITEMS on a non-dict");
        dict_insert(top(), items);
        break;
      }
      case 'q':
        memo_put(arg(1));
        break;
      case 'r':
        memo_put(arg(4));
        break;
      case 0x94:
        memo_put(memo_.size());
        break;  // MEMOIZE
      case 'h':
        memo_get(arg(1));
        break;
      case 'j':
        memo_get(arg(4));
        break;
      case 'c': {  // GLOBAL: module and name lines
        std::string module = line();
        global(module, line());
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        const std::string name = expect(pop(), K::Str, "a global's name").s;
        global(expect(pop(), K::Str, "a global's module").s, name);
        break;
      }
      case 'R': {
        const std::vector<uint32_t> args = expect(pop(), K::Tuple, "call arguments").items;
        reduce(expect(pop(), K::Callable, "a global to call").i, args);
        break;
      }
      case 'b':  // BUILD: an OrderedDict's attributes (a state dict's _metadata); rr needs none of them
        pop();
        if (top().kind != K::Dict) bad("BUILD of an object other than a dict");
        break;
      case 'Q': {
        const std::vector<uint32_t> id = expect(pop(), K::Tuple, "a persistent id tuple").items;
        persistent_storage(id);
        break;
      }
      default:
        bad(fmt::format("opcode 0x{:02x}, which torch.save does not write for a state dict", op));
    }
  }

  void global(const std::string& module, const std::string& name) {
    if (module == "collections" && name == "OrderedDict")
      return push({Value::Kind::Callable, kOrderedDict, {}, {}});
    if (module == "torch._utils" && name == "_rebuild_tensor_v2")
      return push({Value::Kind::Callable, kRebuildTensorV2, {}, {}});
    if (module == "torch._utils" && name == "_rebuild_parameter")
      return push({Value::Kind::Callable, kRebuildParameter, {}, {}});
    for (size_t c = 0; c < kStorageClasses.size(); ++c)
      if (module == "torch" && name == kStorageClasses[c].global)
        return push({Value::Kind::StorageClass, static_cast<int64_t>(c), {}, {}});
    bad(fmt::format("global {}.{} is not part of a state dict of tensors", module, name));
  }

  int64_t integer(uint32_t index, int64_t lo, int64_t hi, const char* what) {
    const Value& v = expect(index, Value::Kind::Int, what);
    if (v.i < lo || v.i > hi) bad(fmt::format("{} {} out of range [{}, {}]", what, v.i, lo, hi));
    return v.i;
  }

  // ('storage', torch.<dtype>Storage, key, location, numel): the record <archive>/data/<key>.
  void persistent_storage(const std::vector<uint32_t>& id) {
    if (id.size() != 5 || expect(id[0], Value::Kind::Str, "'storage'").s != "storage")
      bad("persistent id is not ('storage', class, key, location, numel)");
    Storage s;
    s.storage_class = static_cast<size_t>(expect(id[1], Value::Kind::StorageClass, "a storage class").i);
    const std::string& key = expect(id[2], Value::Kind::Str, "a storage key").s;
    expect(id[3], Value::Kind::Str, "a storage location");
    s.numel = integer(id[4], 0, kMaxElements, "storage size");
    const auto record = records_.find(archive_ + "/data/" + key);
    if (record == records_.end()) bad(fmt::format("storage record {}/data/{} missing", archive_, key));
    const uint64_t need = static_cast<uint64_t>(s.numel) * kStorageClasses[s.storage_class].element_size;
    if (record->second.size < need)
      bad(fmt::format("storage {} holds {} bytes, its {} elements need {}", key, record->second.size, s.numel,
                      need));
    s.begin = record->second.begin;
    storages_.push_back(s);
    push({Value::Kind::Storage, static_cast<int64_t>(storages_.size() - 1), {}, {}});
  }

  std::vector<int64_t> int_tuple(uint32_t index, int64_t hi, const char* what) {
    const std::vector<uint32_t> items = expect(index, Value::Kind::Tuple, what).items;
    if (items.size() > kMaxDims) bad(fmt::format("{} with {} dimensions", what, items.size()));
    std::vector<int64_t> out;
    for (uint32_t item : items) out.push_back(integer(item, 0, hi, what));
    return out;
  }

  void reduce(int64_t callable, const std::vector<uint32_t>& args) {
    if (callable == kOrderedDict) {
      if (!args.empty()) bad("OrderedDict called with arguments");
      return push({Value::Kind::Dict, 0, {}, {}});
    }
    if (callable == kRebuildParameter) {  // (data, requires_grad, backward_hooks)
      if (args.size() != 3) bad("_rebuild_parameter needs 3 arguments");
      expect(args[0], Value::Kind::Tensor, "a tensor");
      stack_.push_back(args[0]);
      return;
    }
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (args.size() != 6 && args.size() != 7) bad("_rebuild_tensor_v2 needs 6 or 7 arguments");
    const Storage& s = storages_[static_cast<size_t>(expect(args[0], Value::Kind::Storage, "a storage").i)];
    TorchSaveTensor t;
    t.dtype = kStorageClasses[s.storage_class].dtype;
    t.element_size = kStorageClasses[s.storage_class].element_size;
    t.storage_begin = s.begin;
    t.storage_numel = s.numel;
    t.storage_offset = integer(args[1], 0, kMaxElements, "storage offset");
    t.sizes = int_tuple(args[2], kMaxElements, "size");
    t.strides = int_tuple(args[3], kMaxElements, "stride");
    if (t.sizes.size() != t.strides.size()) bad("size and stride of different lengths");
    // The last element the view reaches; each term is below 2^96, so the sum fits in 128 bits.
    unsigned __int128 last = static_cast<uint64_t>(t.storage_offset);
    bool empty = false;
    for (size_t d = 0; d < t.sizes.size(); ++d) {
      empty = empty || t.sizes[d] == 0;
      if (t.sizes[d] > 0)
        last += static_cast<unsigned __int128>(t.sizes[d] - 1) * static_cast<uint64_t>(t.strides[d]);
    }
    if (!empty && last >= static_cast<uint64_t>(s.numel))
      bad(fmt::format("tensor view reaches past its storage of {} elements", s.numel));
    tensors_.push_back(std::move(t));
    push({Value::Kind::Tensor, static_cast<int64_t>(tensors_.size() - 1), {}, {}});
  }

  const char* p_;
  uint64_t n_;
  uint64_t at_ = 0, op_at_ = 0;
  std::string archive_;
  const std::map<std::string, Record>& records_;
  const std::filesystem::path& path_;
  std::vector<Value> values_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, uint32_t> memo_;
  std::vector<Storage> storages_;
  std::vector<TorchSaveTensor> tensors_;
};

}  // namespace

TorchSaveFile parse_torch_save(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) RR_THROW(Input, "{}: cannot open", path.string());
  TorchSaveFile file;
  file.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  const std::map<std::string, Record> records = ZipDirectory(file.bytes, path).read();
  const Record* pickle = nullptr;
  std::string archive;
  for (const auto& [name, record] : records) {
    const size_t slash = name.find('/');
    if (slash == std::string::npos || name.compare(slash, std::string::npos, "/data.pkl") != 0) continue;
    if (pickle)
      RR_THROW(Input, "{}: not a readable PyTorch checkpoint (two data.pkl records: {}, {})", path.string(),
               archive, name.substr(0, slash));
    pickle = &record;
    archive = name.substr(0, slash);
  }
  if (!pickle)
    RR_THROW(Input, "{}: not a readable PyTorch checkpoint (no <archive>/data.pkl record)", path.string());
  if (const auto order = records.find(archive + "/byteorder"); order != records.end()) {
    const std::string_view value(file.bytes.data() + order->second.begin, order->second.size);
    if (value != "little")
      RR_THROW(Input, "{}: PyTorch checkpoint saved with byte order '{}'; rr reads little-endian storages",
               path.string(), value);
  }
  file.tensors =
      StateDictUnpickler(file.bytes.data() + pickle->begin, pickle->size, archive, records, path).run();
  return file;
}

}  // namespace rr
