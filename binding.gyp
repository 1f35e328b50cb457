# node-gyp build (the fallback when cmake-js is unavailable). Same sources
# and flags as CMakeLists.txt: both come from native/build-config.js, which
# reads native/kernels/isas.def and lists the baseline sources (every .cc
# under native/ except the per-ISA kernel table and the tests).
#
# gyp cannot set flags per source file, nor generate targets from a list:
# each ISA of the architecture is compiled in one of the generic "ISA slot"
# static libraries below (slot i = the i-th ISA of isas.def for this
# architecture, with its flags; type none when the architecture has fewer
# ISAs), linked into the addon, whose own sources get no ISA flags. The
# script fails the build, saying so, if an architecture ever needs more
# slots than isa_slots.
{
  "variables": {
    "instnorm_common_defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
    "isa_slots": 4,
  },
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++14"],
    "cflags_cc": ["-fPIC", "<!@(node native/build-config.js common gcc)"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "xcode_settings": {
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
      "OTHER_CPLUSPLUSFLAGS": ["<!@(node native/build-config.js common gcc)"],
    },
    "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["<!@(node native/build-config.js common msvc)"]}},
  },
  "targets": [
    {
      "target_name": "instnorm",
      "sources": ["<!@(node native/build-config.js sources)"],
      "defines": ["<@(instnorm_common_defines)"],
      "dependencies": ["instnorm_isa_0", "instnorm_isa_1", "instnorm_isa_2", "instnorm_isa_3"],
    },
    {
      "target_name": "instnorm_isa_0",
      "type": "<!(node native/build-config.js gyp-slot 0 <(isa_slots) type <(target_arch))",
      "sources": ["<!@(node native/build-config.js gyp-slot 0 <(isa_slots) sources <(target_arch))"],
      "defines": ["<!@(node native/build-config.js gyp-slot 0 <(isa_slots) defines <(target_arch))"],
      "cflags_cc": ["<!@(node native/build-config.js gyp-slot 0 <(isa_slots) flags <(target_arch) gcc)"],
      "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["<!@(node native/build-config.js gyp-slot 0 <(isa_slots) flags <(target_arch) gcc)"]},
      "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["<!@(node native/build-config.js gyp-slot 0 <(isa_slots) flags <(target_arch) msvc)"]}},
    },
    {
      "target_name": "instnorm_isa_1",
      "type": "<!(node native/build-config.js gyp-slot 1 <(isa_slots) type <(target_arch))",
      "sources": ["<!@(node native/build-config.js gyp-slot 1 <(isa_slots) sources <(target_arch))"],
      "defines": ["<!@(node native/build-config.js gyp-slot 1 <(isa_slots) defines <(target_arch))"],
      "cflags_cc": ["<!@(node native/build-config.js gyp-slot 1 <(isa_slots) flags <(target_arch) gcc)"],
      "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["<!@(node native/build-config.js gyp-slot 1 <(isa_slots) flags <(target_arch) gcc)"]},
      "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["<!@(node native/build-config.js gyp-slot 1 <(isa_slots) flags <(target_arch) msvc)"]}},
    },
    {
      "target_name": "instnorm_isa_2",
      "type": "<!(node native/build-config.js gyp-slot 2 <(isa_slots) type <(target_arch))",
      "sources": ["<!@(node native/build-config.js gyp-slot 2 <(isa_slots) sources <(target_arch))"],
      "defines": ["<!@(node native/build-config.js gyp-slot 2 <(isa_slots) defines <(target_arch))"],
      "cflags_cc": ["<!@(node native/build-config.js gyp-slot 2 <(isa_slots) flags <(target_arch) gcc)"],
      "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["<!@(node native/build-config.js gyp-slot 2 <(isa_slots) flags <(target_arch) gcc)"]},
      "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["<!@(node native/build-config.js gyp-slot 2 <(isa_slots) flags <(target_arch) msvc)"]}},
    },
    {
      "target_name": "instnorm_isa_3",
      "type": "<!(node native/build-config.js gyp-slot 3 <(isa_slots) type <(target_arch))",
      "sources": ["<!@(node native/build-config.js gyp-slot 3 <(isa_slots) sources <(target_arch))"],
      "defines": ["<!@(node native/build-config.js gyp-slot 3 <(isa_slots) defines <(target_arch))"],
      "cflags_cc": ["<!@(node native/build-config.js gyp-slot 3 <(isa_slots) flags <(target_arch) gcc)"],
      "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["<!@(node native/build-config.js gyp-slot 3 <(isa_slots) flags <(target_arch) gcc)"]},
      "msvs_settings": {"VCCLCompilerTool": {"AdditionalOptions": ["<!@(node native/build-config.js gyp-slot 3 <(isa_slots) flags <(target_arch) msvc)"]}},
    },
  ],
}
