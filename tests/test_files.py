"""Output files are written whole, then named; a name taken meanwhile is never replaced without leave."""

import pytest

from irae_hf.io.atomic import OutputExists, write_file


def test_a_file_appears_whole_under_its_name(tmp_path):
    seen = []

    def write(partial):
        seen.append((partial.parent, partial.name.startswith("."), (tmp_path / "x.png").exists()))
        partial.write_bytes(b"complete")

    assert write_file(tmp_path / "x.png", write) == tmp_path / "x.png"
    assert seen == [(tmp_path, True, False)] and (tmp_path / "x.png").read_bytes() == b"complete"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_a_name_taken_meanwhile_is_not_replaced(tmp_path):
    def write(partial):  # another process writes the same name while this one is working
        (tmp_path / "x.png").write_bytes(b"theirs")
        partial.write_bytes(b"ours")

    with pytest.raises(OutputExists, match="already exists"):
        write_file(tmp_path / "x.png", write)
    assert (tmp_path / "x.png").read_bytes() == b"theirs" and len(list(tmp_path.iterdir())) == 1
    write_file(tmp_path / "x.png", lambda p: p.write_bytes(b"ours"), overwrite=True)
    assert (tmp_path / "x.png").read_bytes() == b"ours"


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_an_interrupted_write_leaves_nothing(tmp_path, error):
    def write(partial):
        partial.write_bytes(b"half")
        raise error

    with pytest.raises(error):
        write_file(tmp_path / "x.png", write)
    assert list(tmp_path.iterdir()) == []


def test_a_long_name_the_file_system_allows_is_written(tmp_path):
    """A 240-byte stem is a legal name (255 bytes at most); its hidden temporary name must be too."""
    target = tmp_path / ("é" * 120 + ".png")  # 240 bytes of UTF-8
    assert write_file(target, lambda partial: partial.write_bytes(b"complete")) == target
    assert target.read_bytes() == b"complete" and [p.name for p in tmp_path.iterdir()] == [target.name]
