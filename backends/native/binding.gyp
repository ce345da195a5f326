{
  "targets": [
    {
      "target_name": "qmm_native",
      "sources": [
        "src/addon.cc",
        "src/evict.cc",
        "src/qmm.cc",
        "src/thread_pool.cc",
        "src/kernels_avx2.cc",
        "src/kernels_avx512.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=x86-64-v3", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-uninitialized"],
      "ldflags": ["-pthread"]
    }
  ]
}
