"""Files on disk: expanding paths and globs, reading UTF-8 text with errors that name the
file and byte offset, and writing files and directories atomically.

Standard library only, and the lowest layer of tfllm: every part of it may import this.
Record formats (JSONL, TSV, TFDS) are read by `tfllm.data.sources`.
"""

import contextlib
import glob
import os
import shutil
import tempfile


def write_atomically(path, data):
    """Writes `data` (str or bytes) to `path` through a temporary file + os.replace."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def new_directory(path, name=None):
    """Yields a hidden folder beside `path` to fill; renamed to `path` when the block ends,
    removed if it raises. `path` must not exist or be an empty directory (else a
    ValueError naming it, as `name` if given)."""
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise ValueError(f"{name or path} exists and is not an empty directory")
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    building = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.tmp-", dir=parent)
    try:
        os.chmod(building, 0o755)
        yield building
        if os.path.isdir(path):
            os.rmdir(path)
        os.rename(building, path)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def expand_paths(paths, suffixes=None):
    """Expands files, directories (recursively) and glob patterns into a sorted file list.

    Args:
        paths: a path/glob or a list of them.
        suffixes: if given, files found inside directories are kept only when their
            name ends with one of these (e.g. (".py",)); explicit files are always kept.

    Raises:
        ValueError: a path or pattern that matches nothing, or an empty result.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = []
    for path in map(os.fspath, paths):
        if os.path.isfile(path):
            files.append(path)
        elif os.path.isdir(path):
            for root, dirs, names in os.walk(path):
                dirs.sort()
                files.extend(os.path.join(root, n) for n in sorted(names)
                             if suffixes is None or n.endswith(tuple(suffixes)))
        elif glob.has_magic(path):
            matches = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
            if not matches:
                raise ValueError(f"{path}: glob pattern matches no file")
            files.extend(matches)
        else:
            raise ValueError(f"{path}: no such file or directory")
    if not files:
        raise ValueError(f"{list(paths)}: no input files found (empty corpus)")
    return sorted(dict.fromkeys(files))


def decode_utf8(data, where, errors="strict"):
    """Decodes bytes as UTF-8; ValueError naming `where` and the byte offset if invalid.

    Args:
        errors: "strict" (raise) or "replace" (U+FFFD for bad bytes).
    """
    if errors not in ("strict", "replace"):
        raise ValueError(f"errors={errors!r}: expected 'strict' or 'replace'")
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as e:
        raise ValueError(f"{where}: invalid UTF-8 at byte offset {e.start} "
                         f"(byte 0x{data[e.start]:02x}); convert the file to UTF-8 (from "
                         f"Python, errors='replace' substitutes U+FFFD)") from None


def read_text(path, errors="strict"):
    """Reads a whole file as UTF-8 text (exact: newlines are not translated)."""
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    with open(path, "rb") as f:
        return decode_utf8(f.read(), path, errors)


def read_texts(paths, errors="strict", suffixes=None):
    """Yields the text of every file matched by `expand_paths(paths, suffixes)`."""
    for path in expand_paths(paths, suffixes):
        yield read_text(path, errors)

