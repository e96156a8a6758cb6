#!/usr/bin/env bash
# Times a training step of the app's models in Prelu (native backend) and in Debian's PyTorch, back to
# back on this machine, and prints both, with the probe's peak FMA rate as the denominator.
#   benchmarks/tools/compare-with-pytorch.sh [threads] [models]     (models: relu,prelu by default; also
#                                                                  bn-prelu, resnet-relu, resnet-prelu)
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-2}
models=${2:-relu,prelu}
if [ "$(id -u)" = 0 ] && ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch libopenblas0-pthread >/dev/null
fi
dotnet build benchmarks/Prelu.Benchmarks -c Release -nologo -v:q -clp:ErrorsOnly
artifacts/native/prelu_fma_peak
dotnet benchmarks/Prelu.Benchmarks/bin/Release/net10.0/Prelu.Benchmarks.dll step --threads "$threads" --models "$models"
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, set on some of these machines for old OpenBLAS builds, would hold
# PyTorch's dense layers back: unset them for this command alone, so that the comparison is fair.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/tools/pytorch_step.py --threads "$threads" --models "$models"
