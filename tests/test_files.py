"""tfllm.files: path and glob expansion, UTF-8 text with located errors, atomic writes and
directories that appear whole."""

import os
from pathlib import Path

import pytest

from tfllm import files


def test_expand_files_directories_globs(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.txt", "b.py", "sub/c.txt"):
        (tmp_path / name).write_text(name)
    assert files.expand_paths(str(tmp_path), suffixes=(".txt",)) == [
        str(tmp_path / "a.txt"), str(tmp_path / "sub/c.txt")]
    assert files.expand_paths(str(tmp_path / "**/*.txt")) == [
        str(tmp_path / "a.txt"), str(tmp_path / "sub/c.txt")]
    assert list(files.read_texts([str(tmp_path / "b.py")])) == ["b.py"]


def test_missing_and_empty(tmp_path):
    with pytest.raises(ValueError, match="nope.txt: no such file or directory"):
        files.expand_paths(str(tmp_path / "nope.txt"))
    with pytest.raises(ValueError, match="matches no file"):
        files.expand_paths(str(tmp_path / "*.md"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty corpus"):
        files.expand_paths(str(tmp_path / "empty"))


def test_non_utf8_reports_file_and_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9\nok\n")
    with pytest.raises(ValueError, match=r"latin1.txt: invalid UTF-8 at byte offset 3"):
        files.read_text(str(path))
    assert files.read_text(str(path), errors="replace") == "caf\ufffd\nok\n"


def test_write_atomically_str_and_bytes_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "new" / "out.json"
    files.write_atomically(str(path), "é\n")
    assert path.read_bytes() == "é\n".encode("utf-8")
    files.write_atomically(str(path), b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01" and os.listdir(path.parent) == ["out.json"]

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        files.write_atomically(str(path), "lost")
    assert path.read_bytes() == b"\x00\x01" and os.listdir(path.parent) == ["out.json"]


def test_new_directory_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "out"
    with files.new_directory(str(target)) as building:
        (Path(building) / "a.txt").write_text("a")
        assert not target.exists()  # filled beside it
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (target / "a.txt").read_text() == "a"
    with pytest.raises(ValueError, match="--workdir x exists and is not an empty directory"):
        with files.new_directory(str(target), "--workdir x"):
            pass
    failed = tmp_path / "failed"
    failed.mkdir()  # an empty directory may be replaced
    with pytest.raises(RuntimeError):
        with files.new_directory(str(failed)) as building:
            (Path(building) / "half.txt").write_text("half")
            raise RuntimeError("interrupted")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failed", "out"]
    assert not any(failed.iterdir())
