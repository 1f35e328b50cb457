// The prebuilt Linux binaries must load wherever Node 20 itself runs, so they
// may need no symbol versions newer than GLIBC_2.28 and GLIBCXX_3.4.21 (what
// Node's own Linux builds need). Two things keep them there:
//
// - The C++ runtime's threading (std::thread, std::mutex, condition_variable)
//   is not used: from a g++ 12 toolchain it needs GLIBCXX_3.4.22 (std::thread)
//   and 3.4.30 (condition_variable::wait). The pool (thread_pool.cc) uses
//   pthreads directly, and std::atomic, which needs nothing from the library.
// - glibc 2.34 moved libpthread into libc and gave the moved functions a new
//   default version (pthread_create@@GLIBC_2.34). Linking against a newer
//   glibc binds to that version; the old one is the same function, kept for
//   binaries linked before 2.34. The pins below bind to the old version, which
//   every glibc of the architecture has (2.2.5 is x86-64's first, 2.17
//   aarch64's). Include this header in every file that calls these functions.
//
// test/package/tarball.test.ts reads each prebuild's symbol versions with
// readelf and fails on anything newer than the floor, so a new call into the
// C++ runtime or glibc that raises it is caught in CI (README: Develop).
#pragma once

#if defined(__linux__) && defined(__GLIBC__)
#if defined(__x86_64__)
#define INSTNORM_GLIBC_BASE_VERSION "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define INSTNORM_GLIBC_BASE_VERSION "GLIBC_2.17"
#endif
#endif

#ifdef INSTNORM_GLIBC_BASE_VERSION
__asm__(".symver pthread_create,pthread_create@" INSTNORM_GLIBC_BASE_VERSION);
__asm__(".symver pthread_detach,pthread_detach@" INSTNORM_GLIBC_BASE_VERSION);
#endif
