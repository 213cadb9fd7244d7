"""torch, slimmed: replaces pyinstaller-hooks-contrib's hook-torch for this app.

The stock hook adds every torch submodule as a hidden import (thousands of modules, most
of the analysis time) and collects torch's C++ test binaries and headers as data
(~130 MiB). Here the analysis follows the imports torch really makes (the spec excludes
the compiler stack our loaders never use), and only the run-time files are collected:
the shared libraries and ``torch_shm_manager`` (DataLoader workers). torch still needs
its Python sources beside the byte code (``pyz+py``: parts of it read their own source).
"""

from PyInstaller.utils.hooks import PY_DYLIB_PATTERNS, collect_data_files, collect_dynamic_libs

module_collection_mode = "pyz+py"
warn_on_missing_hiddenimports = False

datas = collect_data_files(
    "torch",
    excludes=[
        "**/*.h",
        "**/*.hpp",
        "**/*.cuh",
        "**/*.lib",
        "**/*.cpp",
        "**/*.pyi",
        "**/*.cmake",
        "include/**",
        "share/**",
        "test/**",
        "bin/**",
        "_inductor/**",
        "_dynamo/**",
        "utils/benchmark/**",
    ],
)
datas += [
    (path, dest)
    for path, dest in collect_data_files("torch", subdir="bin", includes=["torch_shm_manager"])
]
binaries = [
    (path, dest)
    for path, dest in collect_dynamic_libs("torch", search_patterns=PY_DYLIB_PATTERNS + ["*.so.*"])
    if not any(
        part in path for part in ("_test.so", "libjitbackend_test", "libbackend_with_compiler")
    )
]
# Keep torch/lib's libraries in torch/lib (no links at the top level; they confuse torch).
bindepend_symlink_suppression = ["**/torch/lib/*.so*"]
