#!/usr/bin/env bash
# The GPU check of the OpenCL backend, for a machine with a GPU and its OpenCL driver but no .NET SDK and
# no network (the device machine this project is sometimes lent, which takes at most 64 MiB along).
#
# On the development machine, prepare what travels (the app published with Native AOT, the OpenCL ICD
# loader, MNIST gzipped), which must stay under 64 MiB:
#   benchmarks/tools/gpu-check.sh prepare        -> out/gpu-check/
# On the GPU machine, from the repository root with out/gpu-check/ carried along (under 5 minutes):
#   benchmarks/tools/gpu-check.sh run
# "run" prints the OpenCL device, checks the OpenCL backend against the managed reference on the study's
# model (the app's --check-backend), and times training steps of the study's PReLU model on the GPU and
# on the C kernels (the app's --time-steps: images/s at batch 250 and 1000).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=out/gpu-check
limit_mib=64
case "${1:-}" in
prepare)
    rm -rf "$out" && mkdir -p "$out/mnist"
    dotnet publish src/Prelu.Mnist -c Release -r linux-x64 -p:PublishAot=true -o "$out/app" -nologo -v:q
    rm -f "$out"/app/*.dbg
    (cd "$out" && apt-get download ocl-icd-libopencl1 >/dev/null && dpkg -x ocl-icd-libopencl1_*.deb icd && rm ocl-icd-libopencl1_*.deb)
    mnist="${PRELU_MNIST_DIR:-$HOME/.cache/prelu/mnist}"
    for file in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        if [ -f "$mnist/$file.gz" ]; then cp "$mnist/$file.gz" "$out/mnist/"; else gzip -9 -c "$mnist/$file" > "$out/mnist/$file.gz"; fi
    done
    size=$(du -sm "$out" | cut -f1)
    echo "out/gpu-check: ${size} MiB (limit ${limit_mib})"
    [ "$size" -le "$limit_mib" ] || { echo "too large to travel to the GPU machine" >&2; exit 1; }
    ;;
run)
    # The ICD loader from the carried package, and a vendor file naming NVIDIA's OpenCL library.
    export LD_LIBRARY_PATH="$PWD/$out/icd/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
    nvidia=$(ldconfig -p | awk '/libnvidia-opencl.so.1/ {print $NF; exit}')
    [ -n "$nvidia" ] || nvidia=$(find / -name 'libnvidia-opencl.so.1' 2>/dev/null | head -n 1 || true)
    if [ -n "$nvidia" ]; then
        mkdir -p "$out/vendors" && echo "$nvidia" > "$out/vendors/nvidia.icd"
        export OCL_ICD_VENDORS="$PWD/$out/vendors"
    fi
    echo "NVIDIA OpenCL library: ${nvidia:-not found, so the OpenCL drivers installed here are used}"
    # GPU_CHECK_DEVICE=cpu runs the same check on a CPU's OpenCL (PoCL), to try the script without a GPU.
    export PRELU_MNIST_DIR="$PWD/$out/mnist" PRELU_OPENCL_DEVICE="${GPU_CHECK_DEVICE:-gpu}" PRELU_OPENCL_CACHE="$PWD/$out/opencl-cache" CI=true
    app="$out/app/prelu-mnist"
    timeout 90 "$app" --check-backend opencl
    for batch in 250 1000; do
        timeout 45 "$app" --time-steps --backend native --runs prelu --batch-size "$batch" | tail -n 1
        timeout 45 "$app" --time-steps --backend opencl --runs prelu --batch-size "$batch" | tail -n 1
    done
    ;;
*)
    echo "usage: $0 prepare|run" >&2
    exit 2
    ;;
esac
