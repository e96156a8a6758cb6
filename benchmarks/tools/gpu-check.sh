#!/usr/bin/env bash
# The GPU check of the OpenCL backend, for a machine with an NVIDIA GPU and its driver but no .NET SDK
# and no network (the device machine this project is sometimes lent).
#
# On the development machine, prepare what travels (self-contained app, the OpenCL ICD loader):
#   benchmarks/tools/gpu-check.sh prepare        -> out/gpu-check/
# On the GPU machine, from the repository root with out/gpu-check/ carried along:
#   benchmarks/tools/gpu-check.sh run
# "run" lists the OpenCL devices, checks the OpenCL backend against the managed reference on the study's
# shapes (the app's --check-backend), and times one epoch of the study on the GPU next to the C kernels.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=out/gpu-check
case "${1:-}" in
prepare)
    rm -rf "$out" && mkdir -p "$out"
    dotnet publish src/Prelu.Mnist -c Release -r linux-x64 --self-contained -o "$out/app"
    (cd "$out" && apt-get download ocl-icd-libopencl1 && dpkg -x ocl-icd-libopencl1_*.deb icd && rm ocl-icd-libopencl1_*.deb)
    mkdir -p "$out/mnist" && cp "${PRELU_MNIST_DIR:-$HOME/.cache/prelu/mnist}"/*-ubyte "$out/mnist/"
    du -sh "$out"
    ;;
run)
    # The ICD loader from the carried package, and a vendor file naming NVIDIA's OpenCL library.
    export LD_LIBRARY_PATH="$PWD/$out/icd/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
    nvidia=$(ldconfig -p | awk '/libnvidia-opencl.so.1/ {print $NF; exit}')
    [ -n "$nvidia" ] || nvidia=$(find / -name 'libnvidia-opencl.so.1' 2>/dev/null | head -n 1)
    mkdir -p "$out/vendors" && echo "$nvidia" > "$out/vendors/nvidia.icd"
    export OCL_ICD_VENDORS="$PWD/$out/vendors"
    echo "NVIDIA OpenCL library: ${nvidia:-not found}"
    export PRELU_MNIST_DIR="$PWD/$out/mnist" PRELU_OPENCL_DEVICE=gpu CI=true
    "$out/app/prelu-mnist" --check-backend opencl
    "$out/app/prelu-mnist" --backend opencl --runs prelu --epochs 1 --output "$out/results-gpu"
    "$out/app/prelu-mnist" --backend native --runs prelu --epochs 1 --output "$out/results-native"
    ;;
*)
    echo "usage: $0 prepare|run" >&2
    exit 2
    ;;
esac
