#!/usr/bin/env bash
# Prepares the GPU check on a machine with the .NET SDK (the GPU machine has none):
#   1. publishes benchmarks/SpatialNet.Benchmarks self-contained for linux-x64 against TorchSharp only
#      (-p:SpatialNetTorchRuntime=none: no CPU libtorch; on the GPU machine it loads the PyTorch
#      installation's libtorch), about 30 MB packed;
#   2. packs it into .device/gpu-check/spatialnet-benchmarks-linux-x64.tar.xz. .device/ is ignored by git
#      (a .gitignore inside it, and /.device/ in .git/info/exclude of a plain clone), so it never
#      enters a commit, yet the device tool can carry it.
# Then, on the GPU machine, from the repository root (the device tool: carry [".device/gpu-check"]):
#   bash benchmarks/gpu/run-on-device.sh
# which runs our benchmark and the PyTorch reference side by side and prints one table (docs/performance.md).
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"

dev=.device
mkdir -p "$dev/gpu-check" "$dev/build"
printf '# Build outputs for the GPU check (benchmarks/run-gpu-check.sh); never committed.\n*\n' > "$dev/.gitignore"
# In a plain clone also list it in .git/info/exclude; a worktree shares that file with its main checkout, so leave it alone there.
if [ "$(git rev-parse --git-dir)" = "$(git rev-parse --git-common-dir)" ]; then
  exclude=$(git rev-parse --git-path info/exclude)
  mkdir -p "$(dirname "$exclude")"
  grep -qxF '/.device/' "$exclude" 2>/dev/null || echo '/.device/' >> "$exclude"
fi

publish="$dev/build/publish/spatialnet-benchmarks"
rm -rf "$dev/build/publish"
# A separate artifacts folder: this restore (linux-x64, no libtorch package) must not replace the
# regular build's obj/ (CPU libtorch) of the same projects.
dotnet publish benchmarks/SpatialNet.Benchmarks/SpatialNet.Benchmarks.csproj -nologo -c Release -r linux-x64 --self-contained \
  -p:SpatialNetTorchRuntime=none --artifacts-path "$dev/build/artifacts" -o "$publish"

if find "$publish" -name 'libtorch_cpu*' | grep -q .; then
  echo "error: the publish carries a CPU libtorch; expected TorchSharp only (SpatialNetTorchRuntime=none)" >&2
  exit 1
fi
if ! find "$publish" -name 'libLibTorchSharp.so' | grep -q .; then
  echo "error: libLibTorchSharp.so is missing from the publish" >&2
  exit 1
fi

archive="$dev/gpu-check/spatialnet-benchmarks-linux-x64.tar.xz"
XZ_OPT=${XZ_OPT:--6 -T0} tar -C "$dev/build/publish" -cJf "$archive" spatialnet-benchmarks
echo "packed $(du -h "$archive" | cut -f1) into $archive ($(du -sh "$publish" | cut -f1) unpacked)"
echo "on the GPU machine, from the repository root: bash benchmarks/gpu/run-on-device.sh   (device tool: carry [\".device/gpu-check\"])"
