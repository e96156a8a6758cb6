# Cross-builds the C library for Linux on arm64 (libprelu.so with the NEON kernels) with Debian's AArch64 cross compiler
# (gcc-aarch64-linux-gnu); its test programs run under QEMU's user-mode emulation (qemu-aarch64 -L /usr/aarch64-linux-gnu):
#   cmake -S . -B artifacts/native-linux-arm64 -DCMAKE_TOOLCHAIN_FILE=native/toolchains/linux-arm64.cmake && cmake --build artifacts/native-linux-arm64
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
