"""Every bad input of the corpus through every entry point that can see it.

Each test builds one case in a fresh folder and runs one entry point on it. It
passes when the result is one of our errors saying where and what to do (or, where
the case allows it, a normal result), no source file changed (SHA-256 and mtime), no
output or temporary file was left behind and no hostile payload ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.corpus_entry import wizard_add_file
from openretina_data.testing.corrupt import (
    PROBE,
    WIZARD,
    Built,
    Case,
    all_cases,
    case_named,
)
from openretina_data.testing.reliability import (
    ENTRY_POINTS,
    entry_table,
    markdown_table,
    run_corpus,
    run_one,
    summary_line,
)

ROOT = Path(__file__).resolve().parents[2]


POINTS = {**ENTRY_POINTS, WIZARD: wizard_add_file}
RUNS = [
    pytest.param(case, entry, id=f"{case.name}-{entry.replace(' ', '_')}")
    for case in all_cases()
    for entry in case.entry_points
]


@pytest.mark.parametrize(("case", "entry"), RUNS)
def test_bad_input_gets_a_clear_error_and_changes_nothing(
    case: Case, entry: str, tmp_path: Path
) -> None:
    outcome = run_one(case, entry, tmp_path / "case", POINTS)
    assert outcome.clean, str(outcome)


def test_the_corpus_covers_what_the_issue_lists() -> None:
    names = {c.name for c in all_cases()}
    for needed in (
        "npy-truncated", "h5-truncated", "mat5-truncated", "mat73-truncated", "tiff-truncated",
        "h5-superblock-flipped", "mat73-superblock-flipped", "tiff-ifd-flipped",
        "npy-zero-length", "responses-nan", "stimulus-inf", "npy-absurd-shape",
        "h5-absurd-shape", "stimulus-strings", "responses-complex", "npy-pickle-payload",
        "responses-short-by-one", "responses-short-by-thousands", "ds-session-h5-and-hdf5",
        "sessions-differ-in-case", "session-name-dotdot", "session-name-slash",
        "session-name-absolute", "session-name-nul", "session-name-control",
        "source-symlink-outside", "suite2p-ops-payload", "yaml-billion-laughs",
        "yaml-unknown-tags", "spikes-wrong-unit", "trigger-gap",
        # the hostile review (issue 14): data loss, silent wrong data, tracebacks, hangs
        "output-holds-sources-overwrite", "output-holds-sources", "output-foreign-h5-overwrite",
        "output-read-by-the-recipe-overwrite", "output-inside-source-folder",
        "output-recipe-folder", "output-empty", "output-dev-null", "output-is-a-file",
        "output-nul", "yaml-duplicate-key", "json-duplicate-key", "sessions-nfc-nfd",
        "session-folder-c1-control", "session-folder-bidi", "session-name-bytes",
        "session-pattern-ds-store", "session-pattern-stray-file", "session-pattern-absolute", "kilosort-no-cluster-info",
        "tsv-short-row", "tsv-latin1", "tsv-huge-field", "tsv-id-beyond-int64",
        "normalisation-mean-nan", "lag-frames-whole-movie", "source-fifo", "recipe-fifo",
        "recipe-dev-zero",
    ):  # fmt: skip
        assert needed in names
    assert all(set(c.may_accept) <= set(c.entry_points) for c in all_cases())


def test_the_harness_sees_a_changed_source_a_leftover_and_a_crash(tmp_path: Path) -> None:
    case = case_named("npy-zero-length")

    def vandal(built: Built) -> tuple[str, str]:
        assert built.recipe is not None
        built.recipe.write_text("changed")
        (built.outputs / "dataset").mkdir()
        (built.root / ".dataset.tmp-1").mkdir()
        built.marker.touch()
        raise ZeroDivisionError

    outcome = run_one(case, PROBE, tmp_path / "case", {PROBE: vandal})
    assert outcome.result == "crash" and "ZeroDivisionError" in outcome.text
    assert outcome.sources_changed == ["inputs/recipe.json"]
    assert outcome.leftovers == [".dataset.tmp-1", "outputs/dataset"]
    assert outcome.payload_ran and not outcome.clean


CARELESS = {
    "npy-pickle-payload": "import numpy, sys; numpy.load(sys.argv[1], allow_pickle=True)",
    "suite2p-ops-payload": (
        "import numpy, sys; numpy.load(sys.argv[1] + '/ops.npy', allow_pickle=True)"
    ),
    "ds-stimulus-pickle-payload": "import numpy, sys; numpy.load(sys.argv[1], allow_pickle=True)",
    "yaml-unknown-tags": "import yaml, sys; yaml.unsafe_load(open(sys.argv[1]))",
}


@pytest.mark.parametrize("name", sorted(CARELESS))
def test_the_payload_would_run_if_loaded_carelessly(name: str, tmp_path: Path) -> None:
    """The marker checks are honest: loading the corpus file carelessly does create it."""
    built = case_named(name).build(tmp_path / "case")
    path = built.target
    if name == "ds-stimulus-pickle-payload":
        assert built.dataset is not None
        path = built.dataset / "stimuli" / "train.npy"
    assert path is not None and not built.marker.exists()
    subprocess.run([sys.executable, "-c", CARELESS[name], str(path)], check=False)
    assert built.marker.exists()


def test_run_corpus_tabulates_the_runs() -> None:
    only = ["npy-zero-length", "ds-session-symlink-outside"]
    outcomes = run_corpus(only=only, extra={WIZARD: wizard_add_file})
    assert {o.case for o in outcomes} == set(only)
    assert len(outcomes) == sum(len(case_named(n).entry_points) for n in only)
    table = markdown_table(outcomes)
    assert table.splitlines()[0] == summary_line(outcomes)
    assert "2 cases × " in table and "0 sources changed, 0 partial outputs" in table
    assert "| npy-zero-length | error |" in table
    last = table.splitlines()[-1]  # check sees the symlinked session and may accept it
    assert last.startswith("| ds-session-symlink-outside |") and last.endswith("| ok | ok |")
    assert table.splitlines()[2].count("|") == len({o.entry for o in outcomes}) + 2


def test_the_benchmark_script_prints_the_table() -> None:
    script = ROOT / "benchmarks" / "reliability.py"
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            "--cases",
            "--only",
            "yaml-billion-laughs",
            "tiff-zero-length",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("2 cases × ")
    assert "all clean errors" in result.stdout
    assert "| tiff-zero-length | error | error |" in result.stdout


def test_the_entry_point_table_adds_up() -> None:
    outcomes = run_corpus(only=["npy-zero-length", "yaml-billion-laughs"])
    lines = entry_table(outcomes).splitlines()
    assert lines[0] == summary_line(outcomes)
    rows = [line.split(" | ") for line in lines[4:]]
    assert sum(int(row[1]) for row in rows) == len(outcomes)
    assert {row[0].strip("| ") for row in rows} == {o.entry for o in outcomes}
    assert all(row[4].rstrip(" |") == "0" for row in rows)
