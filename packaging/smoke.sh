#!/usr/bin/env bash
# Smoke test of the built app (`make smoke`, run by .ci/run after `make test`).
#
#   bash packaging/smoke.sh [APP_DIR]        APP_DIR defaults to dist/openretina-data
#
# The frozen executables run in a clean environment (env -i, PATH=/usr/bin:/bin, a fresh
# HOME) from a temporary folder, with the repository's venvs and its source packages
# out of reach: hidden under empty mounts in a private mount namespace (unshare, as
# root), or, where that is not allowed, the venvs moved aside and put back on exit.
# A data file or module the bundle lacks fails here, not on a user's machine.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
APP=$(cd "${1:-$ROOT/dist/openretina-data}" && pwd)

if [ -z "${SMOKE_ISOLATED:-}" ]; then
    if unshare --mount true 2>/dev/null; then
        exec env SMOKE_ISOLATED=mounts unshare --mount bash "$0" "$APP"
    fi
    export SMOKE_ISOLATED=moved
fi

hidden=()
restore() {
    if [ "$SMOKE_ISOLATED" = moved ]; then
        for path in "${hidden[@]}"; do mv "$path.smoke-away" "$path"; done
    fi
    return 0
}
trap restore EXIT
for path in "$ROOT"/.venv* "$ROOT/openretina_data" "$ROOT/app"; do
    [ -d "$path" ] || continue
    case "$path" in *.smoke-away) continue ;; esac
    if [ "$SMOKE_ISOLATED" = mounts ]; then
        mount -t tmpfs none "$path"
    elif [ "$path" != "$ROOT/openretina_data" ] && [ "$path" != "$ROOT/app" ]; then
        mv "$path" "$path.smoke-away"
    else
        continue
    fi
    hidden+=("$path")
done
echo "smoke: out of reach ($SMOKE_ISOLATED): ${hidden[*]:-nothing}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/openretina-data-smoke-XXXXXX")
mkdir -p "$WORK/home"
cd "$WORK"
failures=0

frozen() { env -i HOME="$WORK/home" PATH=/usr/bin:/bin "$@"; }

# step NAME EXPECTED_EXIT COMMAND...: runs it, keeps its output in $WORK/NAME.log,
# fails on another exit code or on any Python traceback in the output.
step() {
    local name=$1 expected=$2 code=0
    shift 2
    local start=$SECONDS
    frozen "$@" >"$WORK/$name.log" 2>&1 || code=$?
    if [ "$code" != "$expected" ]; then
        echo "FAIL $name: exit $code (expected $expected)"
        tail -20 "$WORK/$name.log"
        failures=$((failures + 1))
    elif grep -q "Traceback (most recent call last)" "$WORK/$name.log"; then
        echo "FAIL $name: a traceback reached the user"
        cat "$WORK/$name.log"
        failures=$((failures + 1))
    else
        echo "ok   $name ($((SECONDS - start)) s)"
    fi
}

# expect NAME TEXT: the output of step NAME says TEXT
expect() {
    if ! grep -qF -- "$2" "$WORK/$1.log"; then
        echo "FAIL $1: output does not say: $2"
        tail -20 "$WORK/$1.log"
        failures=$((failures + 1))
    fi
}

CLI=$APP/openretina-data
WIZARD=$APP/openretina-data-wizard

step version 0 "$CLI" --version
expect version "openretina-data"
step create-example 0 "$CLI" create-example example
step inspect-folder 0 "$CLI" inspect example/raw/session_01/phy # probed in a child process
expect inspect-folder "spike_times.npy"
step create-data 0 "$CLI" create-data synthetic --num-colors 1 --num-stimuli 2 --num-sessions 1
step inspect-hdf5 0 "$CLI" inspect synthetic/session_0.hdf5 # HDF5: probed in a child process
expect inspect-hdf5 "responses_"
step plan 0 "$CLI" plan example/recipe.yaml
step convert 0 "$CLI" convert example/recipe.yaml --jobs 2 # spawned worker processes
step check 0 "$CLI" check example/dataset
expect check "OK"
step loader-check 0 "$CLI" loader-check example/dataset # torch's dataloaders
step export-config 0 "$CLI" export-config example/dataset -o data_io.yaml
step bad-recipe 2 "$CLI" convert missing.yaml # a usage error, said plainly

# The wizard: every page drawn offscreen (the example converted through its pages, the
# viewer, a published dataset's preset).
step screenshots 0 "$WIZARD" --screenshots shots
shots=$(find shots -name '*.png' -size +5k | wc -l)
if [ "$shots" -lt 11 ]; then
    echo "FAIL screenshots: $shots pages drawn (expected at least 11)"
    failures=$((failures + 1))
fi
# No display: one notice that says what to do, no Qt abort.
step no-display 1 "$WIZARD"
expect no-display "no display found"
expect no-display "hint:"
# A display but the X11 libraries Qt needs missing (where this machine lacks some): the
# notice names the library and the apt line that installs them.
missing=$(ldd "$APP/_internal/PySide6/Qt/plugins/platforms/libqxcb.so" 2>/dev/null | grep -c "not found" || true)
if [ "$missing" -gt 0 ]; then
    step missing-x11-libraries 1 env DISPLAY=:99 "$WIZARD"
    expect missing-x11-libraries "a system library Qt needs is missing"
    expect missing-x11-libraries "sudo apt install"
else
    echo "skip missing-x11-libraries: this machine has the X11 libraries Qt needs"
fi

cd /
if [ "$failures" -eq 0 ]; then
    rm -rf "$WORK"
    echo "smoke: the frozen CLI and wizard passed"
else
    echo "smoke: $failures step(s) failed; outputs in $WORK"
    exit 1
fi
