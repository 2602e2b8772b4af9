"""Safe file handling shared by the scripts: a restricted unpickler and atomic writes.

A plain ``pickle.load`` runs whatever callable the file names. ``load_pickle`` resolves only
the few numpy globals needed to rebuild arrays and refuses every other one, so a file built to
run code raises ``InputFileError`` before anything from it is called. Writers go through
``atomic_write``: the bytes land in a temporary file beside the target, which is renamed over
it only once complete, so an interrupted run never leaves a half-written output.
"""

import contextlib
import os
import pickle
import tempfile
from pathlib import Path

# Exactly what numpy 2 arrays, dtypes and scalars need under pickle protocol 5.
ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
    }
)
PICKLE_PROTOCOL = 5


class InputFileError(ValueError):
    """A file a script reads is missing, corrupt, unsafe or does not match its contract."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED_GLOBALS:
            raise InputFileError(f"refuses global {module}.{name}")
        return super().find_class(module, name)


def load_pickle(path, what="file"):
    """Load a pickle of builtins and numpy arrays without executing code from it.

    Parameters
    ----------
    path : str or Path
    what : str
        How error messages name the file, e.g. "spike file".

    Raises
    ------
    InputFileError
        If the file is missing, unreadable, truncated, not a pickle, or names any global
        other than ``ALLOWED_GLOBALS``.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return _RestrictedUnpickler(fh).load()
    except FileNotFoundError:
        raise InputFileError(f"{what} {path} does not exist") from None
    except InputFileError as err:
        raise InputFileError(
            f"{what} {path} is unsafe ({err}); it was not loaded, regenerate it with this repo's scripts"
        ) from None
    except (
        OSError,
        EOFError,
        pickle.UnpicklingError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        MemoryError,
    ) as err:
        raise InputFileError(f"{path} is not a readable {what} ({type(err).__name__}: {err}); regenerate it") from None


@contextlib.contextmanager
def atomic_write(path):
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary name keeps ``path``'s suffix, so writers that infer a format from the
    suffix (``savefig``, ``np.savez``) behave as on the real name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates the file owner-only; give it the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def check_writable(path):
    """Raise ``OSError`` now if ``path`` could not be written later (by ``atomic_write``).

    Creates the parent folder and a temporary file in it, which is removed again; refuses a
    path that is a folder. Lets a long computation fail before it starts, not after.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".check")
    os.close(fd)
    os.unlink(tmp)


def _current_umask():
    umask = os.umask(0)
    os.umask(umask)
    return umask


def save_pickle(obj, path):
    """Pickle ``obj`` (builtins and numpy arrays only) to ``path`` atomically."""
    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=PICKLE_PROTOCOL)


def save_figure(fig, path, dpi=150):
    """Save a matplotlib figure atomically with the house settings."""
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=Path(path).suffix.lstrip("."))
