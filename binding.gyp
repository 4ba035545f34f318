{
  "targets": [
    {
      "target_name": "lmmkit_native",
      "sources": ["src/linalg/native/addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17"],
      "libraries": ["-lopenblas", "-llapacke"]
    }
  ]
}
