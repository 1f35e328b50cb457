// A deliberately broken addon for scripts/asan-run.sh's self-check: loading
// it with CANARY=asan writes one element past the end of a heap block, with
// CANARY=ubsan overflows a signed int. The runner must see each as a
// sanitizer report (so that "no report" means something).
#include <limits.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

static napi_value init(napi_env env, napi_value exports) {
  const char* which = getenv("CANARY");
  if (which && strcmp(which, "asan") == 0) {
    volatile int* p = malloc(4 * sizeof(int));
    p[4] = 1;
    free((void*)p);
  } else if (which && strcmp(which, "ubsan") == 0) {
    volatile int big = INT_MAX;
    volatile int sum = big + 1;
    (void)sum;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
