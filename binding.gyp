# node-gyp build (the fallback when cmake-js is unavailable). Same sources
# and per-ISA flags as CMakeLists.txt. gyp cannot set flags per source
# file, so each ISA's kernels are a static library with that ISA's flags,
# linked into the addon whose own sources get no ISA flags.
{
  "variables": {
    "instnorm_common_defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
  },
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++14"],
    "cflags_cc": ["-std=c++17", "-O3", "-ffp-contract=off", "-fPIC", "-fvisibility=hidden"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["<@(instnorm_common_defines)"],
    "xcode_settings": {
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
    },
    "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/std:c++17"]}},
  },
  "targets": [
    {
      "target_name": "instnorm",
      "sources": [
        "native/kernels/dispatch.cc",
        "native/kernels/isa_scalar.cc",
        "native/runtime/thread_pool.cc",
        "<!@(node -p \"require('fs').readdirSync('native/binding').concat(require('fs').readdirSync('native/ops').map(f=>'../ops/'+f)).filter(f=>f.endsWith('.cc')).map(f=>'native/binding/'+f).join(' ')\")",
      ],
      "conditions": [
        ["target_arch=='x64'", {
          "dependencies": ["instnorm_avx2", "instnorm_avx512"],
          "defines": ["INSTNORM_HAVE_AVX2", "INSTNORM_HAVE_AVX512"],
        }],
        ["target_arch=='arm64'", {
          "sources": ["native/kernels/isa_neon.cc"],
          "defines": ["INSTNORM_HAVE_NEON"],
        }],
      ],
    },
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "instnorm_avx2",
          "type": "static_library",
          "sources": ["native/kernels/isa_avx2.cc"],
          "cflags_cc": ["-mavx2", "-mfma"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"]},
          "msvs_settings": {"VCCLCompilerTool": {"EnableEnhancedInstructionSet": "5"}},
        },
        {
          "target_name": "instnorm_avx512",
          "type": "static_library",
          "sources": ["native/kernels/isa_avx512.cc"],
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx2", "-mfma", "-Wno-maybe-uninitialized", "-Wno-uninitialized"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx2", "-mfma"]},
          "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["/arch:AVX512"]}},
        },
      ],
    }],
  ],
}
