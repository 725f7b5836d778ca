//===- SafetensorsTest.cpp - The weights reader on good and bad files -----===//

#include "xformer/Runtime/Safetensors.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace xformer::runtime;

namespace {

/// Writes a safetensors file: 8-byte little-endian header length, the JSON
/// header, then `data`.
std::string writeFile(const std::string &header,
                      const std::vector<uint8_t> &data,
                      int64_t headerLenOverride = -1) {
  char path[] = "/tmp/xformer-safetensors-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  std::ofstream out(path, std::ios::binary);
  uint64_t len =
      headerLenOverride >= 0 ? uint64_t(headerLenOverride) : header.size();
  for (int i = 0; i < 8; ++i)
    out.put(char((len >> (8 * i)) & 0xff));
  out.write(header.data(), header.size());
  out.write(reinterpret_cast<const char *>(data.data()), data.size());
  return path;
}

std::string openError(const std::string &path) {
  std::string error;
  auto file = SafetensorsFile::open(path, error);
  EXPECT_EQ(file, nullptr) << "expected a failure for " << path;
  std::remove(path.c_str());
  return error;
}

std::vector<uint8_t> floats(std::vector<float> v) {
  std::vector<uint8_t> bytes(v.size() * 4);
  std::memcpy(bytes.data(), v.data(), bytes.size());
  return bytes;
}

TEST(Safetensors, ReadsTensorsAndMetadata) {
  std::string path =
      writeFile(R"({"__metadata__":{"format":"pt"},)"
                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},)"
                R"("a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})",
                floats({1, 2, 3, 4, 5}));
  std::string error;
  auto file = SafetensorsFile::open(path, error);
  ASSERT_TRUE(file) << error;
  EXPECT_EQ(file->metadata().at("format"), "pt");
  const TensorInfo *b = file->find("b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->shape, (std::vector<int64_t>{2}));
  // This header leaves the data unaligned, as the format allows.
  float bv[2];
  file->copy(*b, bv);
  EXPECT_EQ(bv[0], 4.0f);
  EXPECT_EQ(bv[1], 5.0f);
  EXPECT_EQ(file->isAligned(*b, alignof(float)),
            reinterpret_cast<uintptr_t>(file->data(*b)) % alignof(float) == 0);
  EXPECT_TRUE(file->expect("a", DType::F32, {3}, error)) << error;
  EXPECT_FALSE(file->expect("a", DType::BF16, {3}, error));
  EXPECT_NE(error.find("tensor 'a' is F32 [3], the model expects BF16 [3]"),
            std::string::npos)
      << error;
  EXPECT_FALSE(file->expect("a", DType::F32, {1, 3}, error));
  EXPECT_FALSE(file->expect("missing", DType::F32, {3}, error));
  EXPECT_NE(error.find("no tensor 'missing'"), std::string::npos) << error;
  std::remove(path.c_str());
}

TEST(Safetensors, RejectsBadFiles) {
  const std::string ok =
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  struct Bad {
    std::string header;
    std::vector<uint8_t> data;
    int64_t headerLen;
    std::string message;
  } cases[] = {
      {"{" + ok + "}", floats({1}), -1,
       "data_offsets [0, 8) fall outside the 4 data bytes"},
      {"{" + ok + "}", floats({1, 2}), 1 << 20,
       "truncated: the header claims 1048576 bytes"},
      {"{" + ok + "}", floats({1, 2}), int64_t(1) << 40,
       "exceeds the 100 MiB limit"},
      {"[1, 2]", {}, -1, "the header is not a JSON object"},
      {"{\"a\":", {}, -1, "the header is not a JSON object"},
      {R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})",
       floats({1, 2}), -1, "tensor 'a': unknown dtype 'F33'"},
      {R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
       floats({1, 2}), -1, "tensor 'a': holds 8 bytes but F32 [3] needs 12"},
      {R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})",
       floats({1, 2}), -1, "not a non-negative integer"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})",
       floats({1, 2}), -1, "fall outside"},
      {R"({"a":{"dtype":"F32","shape":[2]}})", floats({1, 2}), -1,
       "data_offsets is not [begin, end]"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
       floats({1}), -1, "overlaps the tensor before it"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       floats({1, 2}), -1,
       "bytes [0, 4) before tensor 'a' belong to no tensor"},
      {"{" + ok + "}", floats({1, 2, 3}), -1,
       "the last 4 data bytes belong to no tensor"},
      {R"({"__metadata__":{"n":1}})",
       {},
       -1,
       "__metadata__ value of 'n' is not a string"},
  };
  for (const Bad &c : cases) {
    std::string error = openError(writeFile(c.header, c.data, c.headerLen));
    EXPECT_NE(error.find(c.message), std::string::npos)
        << "got: " << error << "\nwant: " << c.message;
  }
}

TEST(Safetensors, RejectsTruncatedAndMissingFiles) {
  char path[] = "/tmp/xformer-safetensors-XXXXXX";
  int fd = mkstemp(path);
  (void)!write(fd, "abc", 3);
  close(fd);
  EXPECT_NE(openError(path).find("truncated: 3 bytes"), std::string::npos);
  std::string error;
  EXPECT_FALSE(SafetensorsFile::open("/nonexistent/model.safetensors", error));
  EXPECT_NE(error.find("cannot open the weights file"), std::string::npos);
  EXPECT_FALSE(SafetensorsFile::open("/tmp", error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos);
}

/// Two shards in a fresh directory and an index naming them.
struct Sharded {
  std::string dir;
  Sharded() {
    char tmpl[] = "/tmp/xformer-shards-XXXXXX";
    dir = mkdtemp(tmpl);
    auto shard = [&](const std::string &name, const std::string &header,
                     const std::vector<uint8_t> &data) {
      std::string tmp = writeFile(header, data);
      std::rename(tmp.c_str(), (dir + "/" + name).c_str());
    };
    shard("a.safetensors",
          R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
          floats({1, 2}));
    shard("b.safetensors",
          R"({"y":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
          R"("z":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
          floats({3, 4}));
  }
  std::string index(const std::string &json) {
    std::string path = dir + "/model.safetensors.index.json";
    std::ofstream(path) << json;
    return path;
  }
};

TEST(Safetensors, ReadsAShardedCheckpoint) {
  Sharded s;
  std::string error;
  auto ck = SafetensorsCheckpoint::open(
      s.index(R"({"metadata": {}, "weight_map": {"x": "a.safetensors",
                  "y": "b.safetensors", "z": "b.safetensors"}})"),
      error);
  ASSERT_NE(ck, nullptr) << error;
  const SafetensorsFile *f = nullptr;
  const TensorInfo *y = ck->find("y", &f);
  ASSERT_NE(y, nullptr);
  float v;
  std::memcpy(&v, f->data(*y), 4);
  EXPECT_EQ(v, 3.0f);
  const TensorInfo *x = ck->find("x", &f);
  ASSERT_NE(x, nullptr);
  std::memcpy(&v, f->data(*x), 4);
  EXPECT_EQ(v, 1.0f);
  EXPECT_EQ(ck->find("w", &f), nullptr);
  EXPECT_EQ(ck->names(), (std::vector<std::string>{"x", "y", "z"}));

  // A tensor of a shard that the map leaves out is not in the checkpoint.
  ck = SafetensorsCheckpoint::open(
      s.index(R"({"weight_map": {"x": "a.safetensors"}})"), error);
  ASSERT_NE(ck, nullptr) << error;
  EXPECT_EQ(ck->names(), (std::vector<std::string>{"x"}));
}

TEST(Safetensors, RejectsBadIndexes) {
  Sharded s;
  struct Case {
    const char *json, *message;
  } cases[] = {
      {"{ not json", "the index is not a JSON object"},
      {R"({"weight_map": {}})", "has no weight_map object"},
      {R"({"weight_map": {"x": 3}})",
       "weight_map entry 'x' is not a file name"},
      {R"({"weight_map": {"x": "../a.safetensors"}})",
       "names '../a.safetensors', not a file beside the index"},
      {R"({"weight_map": {"x": "b.safetensors"}})",
       "weight_map puts 'x' in b.safetensors, which has no such tensor"},
      {R"({"weight_map": {"x": "c.safetensors"}})", "c.safetensors"},
  };
  for (const Case &c : cases) {
    std::string error;
    EXPECT_EQ(SafetensorsCheckpoint::open(s.index(c.json), error), nullptr)
        << c.json;
    EXPECT_NE(error.find(c.message), std::string::npos)
        << c.json << " -> " << error;
  }
  std::string error;
  EXPECT_EQ(SafetensorsCheckpoint::open(s.dir + "/missing.index.json", error),
            nullptr);
  EXPECT_NE(error.find("cannot be read"), std::string::npos) << error;
}

} // namespace
