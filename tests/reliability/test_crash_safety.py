"""Kills, full disks, read-only folders, two writers, hostile headers: nothing lost or half-written.

A child process runs ``convert`` and stops itself at a named point (inside a slab
write, between two sessions, at the final rename) by monkeypatching the function it
is in; the test then SIGKILLs it and checks what a user would find. No hook in the
product is needed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from openretina_data import plan as plan_module
from openretina_data.convert import run
from openretina_data.errors import OutputError, RecipeError, UnreadableSourceError
from openretina_data.h5_dataset_reader import load_stimuli
from openretina_data.layout import check, read_card
from openretina_data.layout._fs import clean_stale, exchange
from openretina_data.layout.names import CARD_NAME
from openretina_data.plan import plan
from openretina_data.recipe import Recipe, load_recipe
from openretina_data.sources import probe
from openretina_data.testing.corrupt import case_named
from openretina_data.testing.recipes import binned_recording

STOPPING_CHILD = textwrap.dedent(
    """
    import os, pathlib, sys, time
    from openretina_data import convert
    from openretina_data.layout import _fs, writer
    from openretina_data.recipe import load_recipe

    point = sys.argv[2]

    def stop():
        print("AT", point, flush=True)
        time.sleep(600)

    if point == "slab":  # the third stimulus write lands half its bytes, then stops
        real_pwrite, calls = os.pwrite, [0]
        def pwrite(fd, data, offset):
            calls[0] += 1
            if calls[0] == 3:
                real_pwrite(fd, data[: len(data) // 2], offset)
                stop()
            return real_pwrite(fd, data, offset)
        os.pwrite = pwrite
    elif point == "between-sessions":  # s0 is complete, s1 not started
        real_create = writer.DatasetWriter.create_session
        def create_session(self, name, **kwargs):
            if name == "s1":
                stop()
            return real_create(self, name, **kwargs)
        writer.DatasetWriter.create_session = create_session
    elif point in ("rename", "rename-without-exchange"):
        # the finished temporary folder is about to become the target: by a rename when
        # there is none, by an atomic exchange (Linux) or, where the system cannot
        # exchange, by two renames (this stops between them)
        real_rename, real_exchange = pathlib.Path.rename, _fs.exchange
        def rename(self, target):
            if ".tmp-" in self.name and pathlib.Path(target).name == "dataset":
                stop()
            return real_rename(self, target)
        def exchange(first, second):
            if point == "rename-without-exchange":
                return False
            stop()
        pathlib.Path.rename = rename
        _fs.exchange = exchange
    elif point == "swapped":  # the new dataset is in place, the old one not yet removed
        real_exchange = _fs.exchange
        def exchange(first, second):
            if real_exchange(first, second):
                stop()
            return False
        _fs.exchange = exchange
    from openretina_data import convert_io
    convert_io.SLAB_BYTES = 4096
    convert.RESPONSE_SLAB_FRAMES = 16
    for _ in convert.convert(load_recipe(sys.argv[1]), overwrite=True):
        pass
    print("FINISHED", flush=True)
    """
)


def _leftovers(folder: Path) -> list[str]:
    tags = (".tmp-", ".old-")
    return sorted(
        p.name for p in folder.iterdir() if any(t in p.name for t in tags) or p.suffix == ".lock"
    )


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@contextlib.contextmanager
def _stopped_child(recipe_path: Path, point: str) -> Iterator[subprocess.Popen[str]]:
    """A convert process stopped at ``point`` (and SIGKILLed when the block ends)."""
    child = subprocess.Popen(
        [sys.executable, "-c", STOPPING_CHILD, str(recipe_path), point],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    try:
        line = child.stdout.readline()
        assert line.strip() == f"AT {point}", f"the child never reached {point}: {line!r}"
        yield child
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()


@pytest.mark.parametrize("previous", [False, True], ids=["new", "overwrite"])
@pytest.mark.parametrize("point", ["slab", "between-sessions", "rename", "rename-without-exchange"])
def test_sigkill_at_any_point_leaves_nothing_half_written(
    tmp_path: Path, point: str, previous: bool
) -> None:
    recipe = binned_recording(tmp_path, n_sessions=2, train_frames=200)
    target = tmp_path / "dataset"
    before: dict[str, bytes] = {}
    if previous:
        run(recipe)
        before = _files(target)
    with _stopped_child(tmp_path / "recipe.yaml", point):
        temps = [p for p in tmp_path.iterdir() if ".tmp-" in p.name and p.is_dir()]
        assert len(temps) == 1, "the child should be writing into a temporary folder"
    # What a user finds after the kill: the previous dataset or nothing, never a partial one.
    if previous:
        if point == "rename-without-exchange":  # no atomic swap: killed between two renames
            assert not target.exists()
            (old,) = [p for p in tmp_path.iterdir() if ".old-" in p.name]
            assert _files(old) == before
            clean_stale(target)  # ... so the next writer's first step puts it back
        assert _files(target) == before
        assert check(target).ok
    else:
        assert not target.exists()
    # The killed writer's folder is no dataset: check says so.
    assert not check(temps[0]).ok
    # The next run takes over the stale lock, removes the leftovers and succeeds.
    run(recipe, overwrite=True)
    assert _leftovers(tmp_path) == []
    assert check(target).ok
    assert sorted(read_card(target).sessions) == ["s0", "s1"]  # type: ignore[union-attr]


def test_sigkill_after_the_swap_leaves_the_complete_new_dataset(tmp_path: Path) -> None:
    """Linux swaps old and new in one step (renameat2 RENAME_EXCHANGE): the target is never
    absent; killed before the swap it is the old dataset (above), after it the new one."""
    recipe = binned_recording(tmp_path, n_sessions=2, train_frames=200)
    target = run(recipe)
    card = read_card(target)
    assert card is not None
    card.description = "the previous dataset"
    (target / CARD_NAME).write_text(card.to_json(), encoding="utf-8")
    before = _files(target)
    with _stopped_child(tmp_path / "recipe.yaml", "swapped"):
        (old,) = [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    assert _files(old) == before  # the previous dataset, swapped out whole
    assert check(target).ok and read_card(target).description != "the previous dataset"  # type: ignore[union-attr]
    assert sorted(read_card(target).sessions) == ["s0", "s1"]  # type: ignore[union-attr]
    run(recipe, overwrite=True)  # the next writer removes the swapped-out copy
    assert _leftovers(tmp_path) == [] and check(target).ok


def test_exchange_swaps_two_folders_in_place(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "a").write_text("first")
    (second / "b").write_text("second")
    assert exchange(first, second)  # Linux with glibc >= 2.28 on ext4/xfs/btrfs/tmpfs
    assert [p.name for p in first.iterdir()] == ["b"]
    assert [p.name for p in second.iterdir()] == ["a"]
    with pytest.raises(FileNotFoundError):
        exchange(first, tmp_path / "missing")


def test_a_second_writer_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=2, train_frames=200)
    with _stopped_child(tmp_path / "recipe.yaml", "between-sessions") as child:
        temp = next(p for p in tmp_path.iterdir() if ".tmp-" in p.name)
        written = _files(temp)
        with pytest.raises(OutputError) as caught:
            run(recipe, overwrite=True)
        assert f"process {child.pid}" in str(caught.value) and caught.value.hint
        assert _files(temp) == written, "the refused writer must not touch the first one's files"
        assert not (tmp_path / "dataset").exists()


def test_check_flags_a_dataset_whose_files_do_not_match_its_card(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=2)
    target = run(recipe)
    (target / "s1.hdf5").unlink()
    report = check(target)
    assert not report.ok
    assert any("s1.hdf5" in (p.file or "") + p.message for p in report.problems)


def test_overwriting_a_dataset_never_follows_its_symlinks_out(tmp_path: Path) -> None:
    recipe = binned_recording(tmp_path, n_sessions=2)
    target = run(recipe)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    precious = (target / "s1.hdf5").rename(elsewhere / "s1.hdf5")
    content = precious.read_bytes()
    (target / "s1.hdf5").symlink_to(precious)
    (target / "stimuli").rename(elsewhere / "stimuli")
    (target / "stimuli").symlink_to(elsewhere / "stimuli", target_is_directory=True)
    kept = _files(elsewhere)
    run(recipe, overwrite=True)
    assert precious.read_bytes() == content and _files(elsewhere) == kept
    assert not (target / "s1.hdf5").is_symlink() and check(target).ok
    assert _leftovers(tmp_path) == []


def _mount_tmpfs(folder: Path, options: str) -> bool:
    """Mount a small tmpfs on ``folder`` when this process may (root with CAP_SYS_ADMIN)."""
    if os.geteuid() != 0:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def _unmount(folder: Path) -> None:
    subprocess.run(["umount", str(folder)], capture_output=True, check=False)


def _recipe_writing_to(recipe: Recipe, output: Path) -> Recipe:
    recipe.output = os.fspath(output)
    return recipe


def test_a_full_disk_gives_an_output_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = binned_recording(tmp_path / "in", n_sessions=2, train_frames=2000, height=16, width=16)
    disk = tmp_path / "disk"
    mounted = _mount_tmpfs(disk, "size=256k")  # the movie alone needs 2 MB
    # The disk fills after the plan looked (another program writing, say).
    monkeypatch.setattr(plan_module, "_check_free_space", lambda *args: None)
    if not mounted:  # not allowed here: the OS error the writer would meet, injected
        disk.mkdir()

        def full(fd: int, data: bytes, offset: int) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "pwrite", full)
    try:
        with pytest.raises(OutputError) as caught:
            run(_recipe_writing_to(recipe, disk / "dataset"))
        assert "No space left" in str(caught.value) and caught.value.hint
        assert caught.value.path == os.fspath(disk / "dataset")
        assert list(disk.iterdir()) == []
    finally:
        if mounted:
            _unmount(disk)


def test_plan_refuses_a_dataset_larger_than_the_free_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = binned_recording(tmp_path, n_sessions=2, train_frames=2000)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(plan_module.shutil, "disk_usage", lambda path: usage._replace(free=100_000))
    checked = plan(recipe)
    (problem,) = [p for p in checked.errors if "free" in p.message]
    assert "0.0001 GB free" in problem.message and problem.hint and problem.path
    with pytest.raises(RecipeError):
        run(recipe)
    assert _leftovers(tmp_path) == [] and not (tmp_path / "dataset").exists()


def test_a_read_only_output_folder_gives_an_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = binned_recording(tmp_path / "in")
    folder = tmp_path / "readonly"
    mounted = _mount_tmpfs(folder, "ro,size=64k")
    if not mounted:
        folder.mkdir()
        folder.chmod(0o555)
        if os.geteuid() == 0:  # root ignores permissions: inject what a read-only mount says
            real_open = os.open

            def read_only(path: object, *args: object, **kwargs: object) -> int:
                if os.fspath(path).startswith(os.fspath(folder)):  # type: ignore[arg-type]
                    raise OSError(errno.EROFS, "Read-only file system")
                return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

            monkeypatch.setattr(os, "open", read_only)
    try:
        with pytest.raises(OutputError) as caught:
            run(_recipe_writing_to(recipe, folder / "dataset"))
        assert caught.value.hint and caught.value.path
        assert list(folder.iterdir()) == []
    finally:
        if mounted:
            _unmount(folder)
        else:
            folder.chmod(0o755)


@pytest.mark.parametrize(
    ("case", "call"),
    [
        ("npy-absurd-shape", "probe"),
        ("npy-overflowing-shape", "probe"),
        ("h5-absurd-shape", "plan"),
        ("mat5-absurd-dims", "plan"),
        ("mat5-compressed-absurd-dims", "plan"),
        ("ds-stimulus-absurd-shape", "load_stimuli"),
        ("ds-stimulus-overflowing-shape", "load_stimuli"),
    ],
)
def test_an_absurd_header_is_refused_before_anything_is_allocated(
    tmp_path: Path, case: str, call: str
) -> None:
    built = case_named(case).build(tmp_path / "case")
    tracemalloc.start()
    try:
        if call == "probe":
            assert built.target is not None
            with pytest.raises(UnreadableSourceError):
                probe(built.target)
        elif call == "plan":
            assert built.recipe is not None
            assert not plan(load_recipe(built.recipe)).ok
        else:
            with pytest.raises(UnreadableSourceError):
                load_stimuli(built.dataset, ["test"], [1, 8, 6], None, None)  # type: ignore[arg-type]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"{peak / 2**20:.0f} MiB allocated for a header"
