"""What the reliability tests share: how a command must fail, and running the real CLI in a
child process (the only way to test a SIGKILL, a traceback on stderr or an exit status as a
user sees them)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

# Words of a small synthetic corpus: the tiny model's vocabulary plus fillers and stopwords.
WORDS = [
    *("bank", "river", "money", "bat", "cave", "database", "university", "please", "run"),
    *("the", "of", "a", "fish", "loan", "rates", "stream", "grassy", "wooden", "night"),
    *("query", "baseball", "deposit", "flood", "interest", "erosion"),
]
QUERIES = ["river bank", "money at the bank", "bat cave at night", "run the database query"]


def random_documents(n_docs: int, seed: int = 0) -> dict[str, str]:
    """``doc-<i>`` -> 4 to 30 random words: unique ids, varied lengths and word counts."""
    rng = random.Random(seed)
    return {
        f"doc-{i}": " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 30)))
        for i in range(n_docs)
    }


def cli_env(threads: int = 1) -> dict[str, str]:
    """Environment for child ``minicoil`` processes: offline, the repo importable, and a fixed
    thread count (float reductions, hence bit-identity between runs, depend on it; one thread
    also keeps a test from taking both cores)."""
    env = dict(os.environ)
    env.update(
        HF_HUB_OFFLINE="1",
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")])),
    )
    return env


def cli_command(*args: str | Path) -> list[str]:
    """``minicoil ARGS...`` as this interpreter runs it (no reliance on PATH)."""
    return [sys.executable, "-m", "minicoil.cli", *(str(a) for a in args)]


def run_cli(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_command(*args), capture_output=True, text=True, env=cli_env(), timeout=timeout
    )


def assert_one_line_error(output: str, exit_code: int, *needles: str) -> str:
    """The CLI contract for bad input: exit status 2, no traceback, exactly one ``error:``
    line, printed last, containing every needle (the file's path, the problem). Returns it."""
    assert exit_code == 2, output
    assert "Traceback" not in output, output
    lines = output.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == [lines[-1]], output
    for needle in needles:
        assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"
    return errors[0]


def assert_clean_failure(result: Any, *needles: str) -> str:
    """:func:`assert_one_line_error` for a typer ``CliRunner`` result, which also must not
    carry an uncaught exception (the runner swallows the traceback a user would see)."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return assert_one_line_error(result.output, result.exit_code, *needles)


def leftovers(folder: Path) -> list[str]:
    """Every entry below ``folder`` (relative, sorted): what a failed command left behind."""
    if not folder.exists():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def temporaries(folder: Path) -> list[str]:
    """Temporary files or folders of an atomic write (``.<name>.tmp-...``/``.old-``) below
    ``folder``: a finished command must leave none."""
    return [
        name
        for name in leftovers(folder)
        if ".tmp-" in Path(name).name or ".old-" in Path(name).name
    ]


def args_of(*groups: Sequence[str | Path]) -> list[str]:
    """Command-line arguments as strings, from groups (one option and its value, say)."""
    return [str(value) for group in groups for value in group]
