"""Format detection from content, bad files of every kind, and atomic writes."""
import os
import shutil
from pathlib import Path

import pytest

from topo_opt.errors import InvalidInputError
from topo_opt.io.detect import FORMATS, read_instance, sniff_format, write_instance
from topo_opt.io.sndlib import read_sndlib
from topo_opt.model import Demand, Link, Node, build_network

from conftest import FIXTURES, REAL


def test_format_names():
    assert FORMATS == ("auto", "json", "sndlib", "sndlib-xml", "commalab", "graphml", "gml", "repetita")


@pytest.mark.parametrize("source, misleading_name, expected", [
    (REAL / "sndlib" / "abilene.txt", "abilene.json", "sndlib"),
    (REAL / "commalab" / "grid" / "grid1", "grid1.xml", "commalab"),
    (FIXTURES / "abilene-sample.xml", "sample.graphml", "sndlib-xml"),
    (FIXTURES / "zoo-sample.graphml", "zoo.txt", "graphml"),
    (FIXTURES / "zoo-sample.gml", "zoo.json", "gml"),
    (FIXTURES / "tiny.graph", "tiny.txt", "repetita"),
])
def test_detection_uses_content_not_extension(tmp_path, source, misleading_name, expected):
    path = tmp_path / misleading_name
    shutil.copy(source, path)
    assert sniff_format(path) == expected


def test_sndlib_file_named_json_is_read_as_sndlib(tmp_path):
    path = tmp_path / "abilene.json"
    shutil.copy(REAL / "sndlib" / "abilene.txt", path)
    net = read_instance(path)
    assert net.n_links == 15 and net.metadata["source_format"] == "sndlib"


def test_json_detection_and_explicit_format(tmp_path):
    net = read_sndlib(REAL / "sndlib" / "polska.txt")
    path = tmp_path / "polska.dat"
    write_instance(net, path)
    assert sniff_format(path) == "json"
    assert read_instance(path, format="json") == net
    with pytest.raises(InvalidInputError, match=r"^polska\.dat:1: expected a section header"):
        read_instance(path, format="sndlib")


@pytest.mark.parametrize("content, pattern", [
    (b"", r"^f\.bin: empty file$"),
    (b"  \n\t\n", r"^f\.bin: empty file$"),
    (b"NODES (\n\x00\x01\x02garbage", r"^f\.bin:2: not a text file \(NUL byte at offset 8\)$"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), r"^f\.bin:3: not a text file \(NUL byte at offset 8\)$"),
    (b"{\n \"a\": \"\xff\xfe\"}", r"^f\.bin:2: not UTF-8 text \(byte 0xff at offset 9\)$"),
    (b"hello, world\n", r"^f\.bin:1: cannot detect the file format from its content \(starts with 'hello, world"),
    (b"<html><body/></html>", r"^f\.bin:1: XML file is neither GraphML nor SNDlib XML$"),
    (b"DEMANDS 2\nlabel src dest bw\nd0 0 1 5\nd1 1 0 5\n", r"^f\.bin:1: this is a REPETITA demands file"),
])
def test_bad_files_are_input_errors(tmp_path, content, pattern):
    path = tmp_path / "f.bin"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError, match=pattern):
        read_instance(path)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InvalidInputError, match=r"^nope\.json: cannot read file"):
        read_instance(tmp_path / "nope.json")
    with pytest.raises(InvalidInputError, match=r"unknown format 'yaml'"):
        read_instance(FIXTURES / "tiny.graph", format="yaml")
    with pytest.raises(InvalidInputError, match=r"cannot write format 'graphml'"):
        write_instance(read_instance(FIXTURES / "tiny.graph"), tmp_path / "x", format="graphml")


def _network(metadata):
    return build_network(name="m", nodes=[Node("a"), Node("b")], links=[Link("l", "a", "b", 1e9)],
                         demands=[Demand("d", "a", "b", 1.0)], metadata=metadata)


def test_failed_write_leaves_the_old_file_and_no_partial_file(tmp_path):
    path = tmp_path / "out.json"
    write_instance(_network({"ok": 1}), path)
    before = path.read_text()
    with pytest.raises(InvalidInputError, match=r"^m: cannot write as JSON: Out of range float values"):
        write_instance(_network({"bad": float("nan")}), path)
    assert path.read_text() == before
    assert sorted(os.listdir(tmp_path)) == ["out.json"]  # no temporary file left behind


def test_write_goes_through_a_rename(tmp_path, monkeypatch):
    path = tmp_path / "out.txt"
    calls = []
    real_replace = os.replace

    def spy(src, dst):
        calls.append((Path(src).parent, Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_instance(_network({}), path, format="sndlib")
    assert calls == [(tmp_path, path)] and path.read_text().startswith("?SNDlib native format")
