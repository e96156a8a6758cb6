# Sourced by scripts/pack and scripts/test: the C library for the package's other runtimes, cross-built by the same
# CMakeLists.txt with the toolchain files in native/toolchains, and its known-answer program (native/tests/known_answers.c:
# the conformance suite's cases against PyTorch's fixture) run on each target, under Wine for win-x64 and under QEMU's
# user-mode emulation for linux-arm64. The compilers and emulators come from scripts/lib/prerequisites.sh.

# rid, compiler, emulator, and how the emulator runs a program (its library beside it) with the fixture's path.
native_targets=(win-x64 linux-arm64)

native_target_compiler() { case "$1" in win-x64) echo x86_64-w64-mingw32-gcc-posix ;; linux-arm64) echo aarch64-linux-gnu-gcc ;; esac; }
native_target_emulator() { case "$1" in win-x64) echo wine ;; linux-arm64) echo qemu-aarch64 ;; esac; }
native_target_library() { case "$1" in win-x64) echo prelu.dll ;; *) echo libprelu.so ;; esac; }

# Builds artifacts/native-<rid>/ for every target whose compiler is here; says which are not.
build_native_targets() {
    local rid
    for rid in "${native_targets[@]}"; do
        if ! command -v "$(native_target_compiler "$rid")" >/dev/null; then
            echo "No $(native_target_compiler "$rid"): the C library for $rid is not built" >&2
            continue
        fi
        local log
        # Configured once (a toolchain file is read only then); cmake --build reconfigures on its own when CMakeLists.txt changes.
        if [ ! -f "artifacts/native-$rid/CMakeCache.txt" ] &&
            ! log=$(cmake -S . -B "artifacts/native-$rid" -DCMAKE_TOOLCHAIN_FILE="native/toolchains/$rid.cmake" -DCMAKE_BUILD_TYPE=Release 2>&1); then
            printf '%s\n' "$log" >&2
            return 1
        fi
        if ! log=$(cmake --build "artifacts/native-$rid" --parallel 2>&1); then
            printf '%s\n' "$log" >&2
            return 1
        fi
    done
}

# Runs the known-answer program natively and on every cross-built target whose emulator is here; prints its lines, then
# one summary line per target. Returns 1 when a target's program fails.
check_native_targets() {
    local fixture="$root/tests/reference/fixture.safetensors" status=0 rid output
    run_known_answers linux-x64 "$root/artifacts/native/prelu_known_answers" "$fixture" || status=1
    for rid in "${native_targets[@]}"; do
        local folder="$root/artifacts/native-$rid"
        if [ ! -f "$folder/$(native_target_library "$rid")" ]; then
            echo "known answers, $rid: not run (the library was not built: no $(native_target_compiler "$rid"))"
        elif ! command -v "$(native_target_emulator "$rid")" >/dev/null; then
            echo "known answers, $rid: not run (no $(native_target_emulator "$rid") to run it under)"
        elif [ "$rid" = win-x64 ]; then
            # Wine's own prefix in the per-user cache, so that a first run sets one up without touching the user's ~/.wine. Not
            # under the repository: its drive z: links to /, and BenchmarkDotNet, looking for Prelu.Benchmarks.csproj below the
            # repository's root to build a benchmark out of process, went down it into /proc and failed.
            local prefix="${XDG_CACHE_HOME:-$HOME/.cache}/prelu/wine"
            WINEDEBUG=-all WINEPREFIX="$prefix" run_known_answers "$rid (Wine)" wine "$folder/prelu_known_answers.exe" \
                "$(WINEDEBUG=-all WINEPREFIX="$prefix" winepath -w "$fixture" 2>/dev/null)" || status=1
        else
            run_known_answers "$rid (QEMU)" qemu-aarch64 -L /usr/aarch64-linux-gnu -E "LD_LIBRARY_PATH=$folder" \
                "$folder/prelu_known_answers" "$fixture" || status=1
        fi
    done
    return $status
}

run_known_answers() {
    local target=$1 output code
    shift
    output=$("$@" 2>&1)
    code=$?
    printf '%s\n' "$output" | sed "s/^/  [$target] /"
    if [ $code = 0 ]; then
        echo "known answers, $target: $(printf '%s\n' "$output" | tail -n 1)"
    else
        echo "known answers, $target: FAILED (exit code $code)"
    fi
    return $code
}
