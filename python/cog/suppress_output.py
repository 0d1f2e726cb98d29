"""A context manager that silences Python-level and fd-level output."""

import contextlib
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def suppress_output() -> Iterator[None]:
    """Discard everything written to stdout/stderr (also by C code) inside the block."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a broken stream must not break the block
            pass
    null_fd = os.open(os.devnull, os.O_WRONLY)
    saved = [os.dup(1), os.dup(2)]
    old_out, old_err = sys.stdout, sys.stderr
    null_file = open(os.devnull, "w")
    try:
        os.dup2(null_fd, 1)
        os.dup2(null_fd, 2)
        sys.stdout = sys.stderr = null_file
        yield
    finally:
        sys.stdout, sys.stderr = old_out, old_err
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved + [null_fd]:
            os.close(fd)
        null_file.close()


__all__ = ["suppress_output"]
