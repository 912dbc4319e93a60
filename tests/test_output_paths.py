"""Output paths and extensions are checked before any work starts (issue 12, defect 5)."""
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from topo_opt.cli.main import cli
from topo_opt.errors import InvalidInputError
from topo_opt.io.atomic import check_output_path

ROOT = Path(__file__).resolve().parents[1]
SIX = str(ROOT / "instances" / "six-node.json")
ABILENE = str(ROOT / "instances" / "abilene.json")
MODELS = ROOT / "models"


def test_check_output_path_accepts_new_folders_and_rejects_bad_names(tmp_path):
    assert check_output_path(tmp_path / "new" / "deeper" / "x.CSV", (".csv",), "--out") == \
        tmp_path / "new" / "deeper" / "x.CSV"
    assert not (tmp_path / "new").exists()  # nothing created by the check
    with pytest.raises(InvalidInputError, match=r"--plot .*w\.bmpx: the file name must end in \.png or \.pdf or \.svg"):
        check_output_path(tmp_path / "w.bmpx", (".png", ".pdf", ".svg"), "--plot")
    with pytest.raises(InvalidInputError, match="is a folder"):
        check_output_path(tmp_path, None, "--out")
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(InvalidInputError, match="is not a folder"):
        check_output_path(blocker / "x.json", (".json",), "--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]  # the probe file is gone


def test_unwritable_folder_is_refused_before_solving(tmp_path):
    """A read-only folder (root writes anywhere but in /sys): one line naming it, nothing solved."""
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
    elif Path("/sys").is_dir():
        folder = Path("/sys")
    else:
        pytest.skip("no folder this user cannot write in")
    try:
        result = CliRunner().invoke(cli, ["solve", SIX, "--out", str(folder / "s.json"), "--quiet"])
    finally:
        if folder != Path("/sys"):
            folder.chmod(0o755)
    _one_line_error(result, f"--out {folder / 's.json'}: cannot write in {folder}")


def _one_line_error(result, match):
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("topo-opt: error:") and match in lines[0], result.output


@pytest.mark.parametrize("args, match", [
    (["whatif", ABILENE, "--no-upgrades", "--plot", "w.bmpx"], "--plot w.bmpx: the file name must end in .png"),
    (["tradeoff", SIX, "--tmax-range", "1.2:1.4:0.2", "--relative", "--plot", "t.bmpx"], "--plot t.bmpx"),
    (["bench", SIX, "--methods", "splittable", "--seeds", "1", "--plot", "b.gif"], "--plot b.gif"),
    (["solve", SIX, "--out", "s.txt", "--quiet"], "--out s.txt: the file name must end in .json"),
    (["evaluate", SIX, "nothing.json", "--out", "e.csv"], "--out e.csv"),
    (["convert", SIX, "--out", "c.xml"], "--out c.xml: the file name must end in .json"),
    (["report", "nothing.json", "--out", "rep.pdf"], "--out rep.pdf: the file name must end in .html"),
])
def test_bad_output_names_fail_in_one_line_before_the_work(args, match, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    _one_line_error(result, match)
    assert os.listdir(".") == []  # nothing written, not even the probe


def test_out_under_a_file_is_refused_before_solving(tmp_path):
    blocker = tmp_path / "plain"
    blocker.write_text("")
    result = CliRunner().invoke(cli, ["solve", SIX, "--out", str(blocker / "s.json"), "--quiet"])
    _one_line_error(result, "is not a folder")
