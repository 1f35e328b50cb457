#!/bin/sh
# Compiler launcher of the ASan build (scripts/asan-build.sh): runs the
# compile command as CMake wrote it, plus -O1 at the end (the last -O wins
# over the target's -O3). With the sanitizers, -O3 makes the build several
# times slower and the reports harder to read, and finds nothing -O1 does not.
exec "$@" -O1
