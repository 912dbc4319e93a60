"""Input files that are not regular files (a FIFO, a device) are refused in one line, exit 2.

Opening a FIFO with no writer blocks for ever, so the check (``topo_opt.io.detect.regular_file``)
must come before any ``open``: each command runs in a subprocess with a timeout, so a regression
fails as a timeout instead of hanging the suite.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import read_instance, regular_file

ROOT = Path(__file__).resolve().parents[1]
ABILENE = str(ROOT / "instances" / "abilene.json")

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")


@pytest.mark.parametrize("args", [
    ("info", "{fifo}"),
    ("convert", "{fifo}", "--out", "x.json"),
    ("solve", ABILENE, "--model", "{fifo}"),
    ("evaluate", ABILENE, "{fifo}"),
    ("simulate", ABILENE, "{fifo}"),
    ("measure", "rates", "{fifo}"),
    ("report", "{fifo}"),
    ("batch", "{fifo}"),
], ids=lambda args: " ".join(a for a in args if a not in (ABILENE, "{fifo}")))
def test_fifo_input_is_refused_in_one_line(tmp_path, args):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "topo_opt", *(a.format(fifo=fifo) for a in args)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"topo-opt: error: {fifo}: not a regular file (a FIFO)"]
    assert not (tmp_path / "x.json").exists()


def test_device_and_regular_files():
    with pytest.raises(InvalidInputError, match=r"^/dev/null: not a regular file \(a character device\)$"):
        read_instance("/dev/null")
    assert regular_file(ABILENE) == Path(ABILENE)
    assert regular_file("no-such-file.json") == Path("no-such-file.json")  # opening it says "not found"


def test_folder_as_toml_card_is_not_a_regular_file(tmp_path):
    from topo_opt.io.toml_file import read_toml
    (tmp_path / "card.toml").mkdir()
    with pytest.raises(InvalidInputError, match=r"card.toml: not a regular file \(a directory\)$"):
        read_toml(tmp_path / "card.toml", "model card")
