"""Lists the entries of a shared library's embedded CUDA fatbin.

    python fatbin_arches.py model.so   ->  one line per entry: "sass sm_80",
                                           "ptx compute_80", ...

Reads the .nv_fatbin section (llvm-objcopy) and walks the fatbin's
container headers (magic 0xBA55ED50; each entry: kind 1 = PTX, 2 = ELF,
architecture at byte 28), so tests can see which architectures a library
carries without a GPU or cuobjdump.
"""
import os
import struct
import subprocess
import sys
import tempfile

lib = sys.argv[1]
objcopy = os.environ.get("LLVM_OBJCOPY", "llvm-objcopy")
with tempfile.TemporaryDirectory() as d:
    out = os.path.join(d, "fatbin")
    subprocess.run([objcopy, "--dump-section", ".nv_fatbin=" + out, lib,
                    os.path.join(d, "ignored")], check=True)
    data = open(out, "rb").read()
pos, seen = 0, []
while pos + 16 <= len(data):
    magic, _version, header, size = struct.unpack_from("<IHHQ", data, pos)
    if magic != 0xBA55ED50:
        break
    entry, end = pos + header, pos + header + size
    while entry + 32 <= end:
        kind, _u, eheader, esize = struct.unpack_from("<HHIQ", data, entry)
        arch = struct.unpack_from("<I", data, entry + 28)[0]
        seen.append("%s %s_%d" % ("ptx" if kind == 1 else "sass",
                                   "compute" if kind == 1 else "sm", arch))
        entry += eheader + esize
    pos = end
if not seen:
    sys.exit("%s: no CUDA fatbin found" % lib)
for s in sorted(set(seen)):
    print(s)
