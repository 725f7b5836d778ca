//===- RuntimeTestSupport.h - Compiled models for the C API tests -*- C++ -*-===//
//
// Helpers of the runtime tests: compiling test/Examples with xformer-compile,
// writing safetensors files for them, opening them through the C API.
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_TEST_UNIT_RUNTIMETESTSUPPORT_H
#define XFORMER_TEST_UNIT_RUNTIMETESTSUPPORT_H

#include "xformer/Runtime/ModelABI.h"
#include "xformer/Runtime/xformer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace xformer::test {

inline std::string tempDir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/xformer-runtime-test-XXXXXX";
    const char *d = mkdtemp(tmpl);
    return std::string(d ? d : "/tmp");
  }();
  return dir;
}

/// Compiles `example` with `flags` once per process; returns the library
/// path.
inline std::string compileExample(const std::string &example,
                                  const std::string &flags = "--max-seq-len=16") {
  static std::map<std::string, std::string> done;
  const std::string key = example + " " + flags;
  auto it = done.find(key);
  if (it != done.end())
    return it->second;
  std::string out =
      tempDir() + "/" + example + "-" + std::to_string(done.size()) + ".so";
  std::string cmd = std::string(XFORMER_COMPILE) + " " + XFORMER_EXAMPLES +
                    "/" + example + ".mlir " + flags + " -o " + out;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  done[key] = out;
  return out;
}

struct Tensor {
  std::string name, dtype = "F32";
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

inline void writeSafetensors(const std::string &path, const std::vector<Tensor> &ts,
                      size_t truncateTo = 0) {
  std::string header = "{";
  uint64_t offset = 0;
  for (size_t i = 0; i < ts.size(); ++i) {
    header += (i ? ",\"" : "\"") + ts[i].name + "\":{\"dtype\":\"" +
              ts[i].dtype + "\",\"shape\":[";
    for (size_t d = 0; d < ts[i].shape.size(); ++d)
      header += (d ? "," : "") + std::to_string(ts[i].shape[d]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + ts[i].bytes.size()) + "]}";
    offset += ts[i].bytes.size();
  }
  header += "}";
  std::string file;
  uint64_t n = header.size();
  file.append(reinterpret_cast<const char *>(&n), 8);
  file += header;
  for (const Tensor &t : ts)
    file.append(reinterpret_cast<const char *>(t.bytes.data()), t.bytes.size());
  if (truncateTo)
    file.resize(truncateTo);
  std::ofstream(path, std::ios::binary).write(file.data(), file.size());
}

/// The weights a compiled library reads, filled with small deterministic
/// values (norm gains near 1).
inline std::vector<Tensor> weightsFor(const std::string &library) {
  void *h = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  EXPECT_NE(h, nullptr) << dlerror();
  auto describe =
      reinterpret_cast<xfm_describe_fn>(dlsym(h, XFORMER_MODEL_SYMBOL));
  const xfm_model_desc *d = describe();
  std::vector<Tensor> ts;
  uint32_t state = 12345;
  for (int32_t i = 0; i < d->num_weights; ++i) {
    Tensor t;
    t.name = d->weights[i].name;
    int64_t n = 1;
    for (int32_t r = 0; r < d->weights[i].rank; ++r) {
      t.shape.push_back(d->weights[i].shape[r]);
      n *= d->weights[i].shape[r];
    }
    bool gain = t.name.find("norm") != std::string::npos ||
                t.name.find("ln_") != std::string::npos ||
                t.name.find("LayerNorm") != std::string::npos;
    std::vector<float> v(n);
    for (float &x : v) {
      state = state * 1664525u + 1013904223u;
      float r = float(state >> 8) / float(1 << 24) - 0.5f;
      x = gain ? 1.0f + 0.1f * r : 0.2f * r;
    }
    t.bytes.resize(n * 4);
    std::memcpy(t.bytes.data(), v.data(), n * 4);
    ts.push_back(std::move(t));
  }
  dlclose(h);
  return ts;
}

struct Opened {
  xf_model *model = nullptr;
  xf_status status;
  std::string error;
  ~Opened() { xf_close(model); }
};

inline void open(Opened &o, const std::string &lib, const std::string &weights,
          uint32_t flags = 0) {
  o.status = xf_open_ex(lib.c_str(), weights.c_str(), flags, &o.model);
  o.error = xf_last_error();
}

} // namespace xformer::test

#endif // XFORMER_TEST_UNIT_RUNTIMETESTSUPPORT_H
