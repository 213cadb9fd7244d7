"""Several jobs appending sessions to one dataset: they convert in parallel, queue to adopt."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from openretina_data import convert_append
from openretina_data.convert import run
from openretina_data.errors import OutputError
from openretina_data.h5_dataset_reader import load_responses, load_stimuli
from openretina_data.layout import _fs, check
from openretina_data.layout._fs import lock_path
from openretina_data.layout.card import read_card
from openretina_data.recipe import load_recipe
from openretina_data.testing.recipes import binned_recording


def _staging(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.stage-*"))


def test_an_append_converts_while_another_writer_holds_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = binned_recording(tmp_path, n_sessions=2)
    run(recipe, session="s0")
    out = tmp_path / "dataset"
    lock_path(out).write_text(f"{os.getpid()}\n")  # a live writer (this process) holds it
    waiting = threading.Event()
    sleep = time.sleep

    def note_wait(seconds: float) -> None:
        waiting.set()
        sleep(seconds)

    monkeypatch.setattr(_fs.time, "sleep", note_wait)
    failures: list[BaseException] = []

    def append() -> None:
        try:
            run(recipe, session="s1", append=True)
        except BaseException as error:  # handed to the test thread
            failures.append(error)

    job = threading.Thread(target=append)
    job.start()
    deadline = time.monotonic() + 60
    while job.is_alive() and not waiting.wait(0.05) and time.monotonic() < deadline:
        pass
    assert waiting.is_set(), failures
    # waiting for the lock, with its session already written in its staging folder
    (staged,) = _staging(out)
    assert (staged / "s1.hdf5").is_file() and not (out / "s1.hdf5").exists()
    lock_path(out).unlink()
    job.join(60)
    assert not job.is_alive() and not failures
    card = read_card(out)
    assert card is not None and sorted(card.sessions) == ["s0", "s1"]
    assert check(out).ok and not _staging(out)


def test_an_append_gives_up_after_the_wait_and_leaves_the_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = binned_recording(tmp_path, n_sessions=2)
    run(recipe, session="s0")
    out = tmp_path / "dataset"
    lock_path(out).write_text(f"{os.getpid()}\n")
    monkeypatch.setattr(convert_append, "LOCK_WAIT_S", 0.3)
    with pytest.raises(OutputError, match="another writer"):
        run(recipe, session="s1", append=True)
    lock_path(out).unlink()
    assert sorted(p.name for p in out.glob("*.hdf5")) == ["s0.hdf5"]
    assert check(out).ok and not _staging(out)


def test_staging_of_a_killed_job_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    host = convert_append._host()
    killed = tmp_path / f".dataset.stage-{host}-{int(dead.stdout)}"
    live = tmp_path / f".dataset.stage-{host}-{os.getppid()}"
    other_host = tmp_path / ".dataset.stage-elsewhere-1"
    for folder in (killed, live, other_host):
        folder.mkdir()
    convert_append.remove_dead_staging(out)
    assert not killed.exists() and live.exists() and other_host.exists()


def _append_jobs(recipe_path: Path, names: list[str]) -> list[subprocess.Popen[str]]:
    command = [sys.executable, "-m", "openretina_data.cli", "convert", str(recipe_path)]
    return [
        subprocess.Popen(
            [*command, "--session", name, "--append", "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]


def test_append_jobs_on_a_fresh_output_create_one_dataset(tmp_path: Path) -> None:
    """A SLURM array started on an empty output: the first job creates, the others append."""
    binned_recording(tmp_path, n_sessions=3, train_frames=3000, n_neurons=50)
    out = tmp_path / "dataset"
    assert not out.exists()
    jobs = _append_jobs(tmp_path / "recipe.yaml", ["s0", "s1", "s2"])
    results = [job.communicate(timeout=300) for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0, 0], results
    card = read_card(out)
    assert card is not None and sorted(card.sessions) == ["s0", "s1", "s2"]
    assert check(out).ok and not _staging(out) and not lock_path(out).exists()
    stimuli = load_stimuli(out, card.test_stimuli, [1, 8, 6], card.norm_mean, card.norm_std)
    responses = load_responses(out, card.test_stimuli)
    assert sorted(stimuli) == sorted(responses) == ["s0", "s1", "s2"]
    reference = tmp_path / "reference"
    run(dataclasses.replace(load_recipe(tmp_path / "recipe.yaml"), output=str(reference)))
    expected = read_card(reference)
    assert expected is not None
    assert (card.norm_mean, card.norm_std) == (expected.norm_mean, expected.norm_std)
    for name in ("s0", "s1", "s2"):
        assert np.array_equal(
            responses[name].train, load_responses(reference, expected.test_stimuli)[name].train
        )


def test_two_append_jobs_at_once_both_land(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=3, train_frames=6000, n_neurons=100)
    run(recipe, session="s0")
    out = tmp_path / "dataset"
    jobs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openretina_data.cli",
                "convert",
                str(tmp_path / "recipe.yaml"),
                "--session",
                name,
                "--append",
                "--quiet",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for name in ("s1", "s2")
    ]
    results = [job.communicate(timeout=300) for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], results
    card = read_card(out)
    assert card is not None and sorted(card.sessions) == ["s0", "s1", "s2"]
    assert sorted(p.name for p in out.glob("*.hdf5")) == ["s0.hdf5", "s1.hdf5", "s2.hdf5"]
    assert check(out).ok and not _staging(out)
