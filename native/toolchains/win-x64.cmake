# Cross-builds the C library for Windows x64 (prelu.dll) with Debian's MinGW-w64 (the POSIX-threads compiler, which
# has OpenMP):
#   cmake -S . -B artifacts/native-win-x64 -DCMAKE_TOOLCHAIN_FILE=native/toolchains/win-x64.cmake && cmake --build artifacts/native-win-x64
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
