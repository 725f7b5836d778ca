//===- FileIdentity.h - Which file a mapped weights file is -----*- C++ -*-===//
//
// A model opened with XF_OPEN_MMAP reads its weights in place from the
// mapped file; before each call the runtime checks that the file on disk
// is still the one it mapped (device, inode, size, modification time).
//
//===----------------------------------------------------------------------===//

#ifndef XFORMER_RUNTIME_FILEIDENTITY_H
#define XFORMER_RUNTIME_FILEIDENTITY_H

#include <cstdint>
#include <string>
#include <sys/stat.h>

namespace xformer::runtime {

struct FileIdentity {
  uint64_t device = 0, inode = 0, size = 0;
  int64_t mtimeNs = 0;

  static FileIdentity of(const struct stat &st) {
    return {uint64_t(st.st_dev), uint64_t(st.st_ino), uint64_t(st.st_size),
            int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  }

  /// Whether `path` is still this file; sets `error` otherwise.
  bool matches(const std::string &path, std::string &error) const {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      error = path + ": the weights file of an open model is gone";
      return false;
    }
    const FileIdentity now = of(st);
    if (now.device != device || now.inode != inode || now.size != size ||
        now.mtimeNs != mtimeNs) {
      error = path + ": the weights file changed while the model was open "
                     "(opened with XF_OPEN_MMAP, which reads it in place): "
                     "reopen the model";
      return false;
    }
    return true;
  }
};

} // namespace xformer::runtime

#endif // XFORMER_RUNTIME_FILEIDENTITY_H
