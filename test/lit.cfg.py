# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "XFORMER"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.xformer_obj_root, "test")
# Inputs/ holds files tests read (the GoogleTest suites are unittests/).
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%xformer_src", config.xformer_src_root))

llvm_config.use_default_substitutions()
# Sanitizer settings of scripts/sanitize.sh reach the tools under test.
llvm_config.with_system_environment(["ASAN_OPTIONS", "UBSAN_OPTIONS",
                                     "LSAN_OPTIONS"])
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.xformer_tools_dir, config.llvm_tools_dir]
tools = ["xformer-opt", "xformer-compile", "xformer-run", "xformer-tokenize", "xformer-translate"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# End-to-end tests run Python (%xf_python) with torch and transformers from the project's
# venv (scripts/setup-venv.sh); XFORMER_PYTHON overrides it.
python = os.environ.get("XFORMER_PYTHON",
                        os.path.join(config.xformer_src_root, ".venv", "bin",
                                     "python"))
config.substitutions.append(("%xf_python", python))
config.substitutions.append(("%xformer_bin", config.xformer_tools_dir))
config.substitutions.append(("%xformer_obj", config.xformer_obj_root))
config.substitutions.append(("%xformer_cxx", config.cxx_compiler))
config.substitutions.append(("%xformer_import",
                             os.path.join(config.xformer_src_root, "tools",
                                          "xformer-import", "xformer-import")))
# CUDA: 'nvcc' when the toolkit was found at configure time (models compile
# for the GPU); 'cuda-device' when a GPU answers nvidia-smi (GPU tests run
# instead of printing SKIP).
if config.nvcc and not config.nvcc.endswith("-NOTFOUND"):
    config.available_features.add("nvcc")
    config.substitutions.append(("%nvcc", config.nvcc))
    config.environment["XFORMER_NVCC"] = config.nvcc
import shutil
import subprocess
if shutil.which("nvidia-smi"):
    try:
        if subprocess.run(["nvidia-smi", "-L"], capture_output=True,
                          timeout=20).returncode == 0:
            config.available_features.add("cuda-device")
    except (OSError, subprocess.TimeoutExpired):
        pass

# 'cpu-avx2': the CPU runs the runtime kernels' AVX2 build (tests run it
# beside the baseline build).
try:
    flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo")
                  if l.startswith("flags")), [])
except OSError:
    flags = []
if all(f in flags for f in ("avx2", "fma", "f16c", "bmi2")):
    config.available_features.add("cpu-avx2")

# The sanitizer build runs the runtime through GoogleTest instead: a Python
# process cannot load an ASan-instrumented runtime.
if os.environ.get("XFORMER_SANITIZED") == "1":
    config.excludes += ["e2e", "python", "serve"]
