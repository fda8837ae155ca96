"""Which PyAV decoders this client has is asked of PyAV once per installation and kept in
``$XDG_CACHE_HOME``: a later session names them without importing PyAV and FFmpeg."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest
from spice_session import StreamError, _video

PROBE = (
    "import sys\n"
    "from spice_session import _video\n"
    "print(sorted(_video._av_codecs().values()), 'av' in sys.modules)\n"
)


def _run(cache: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        env={"XDG_CACHE_HOME": str(cache), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    return done.stdout.strip()


def _decoders() -> list[str]:
    return sorted(name for _, (name, _) in _video._AV_CODECS.items() if _has(name))


def _has(name: str) -> bool:
    try:
        av.codec.Codec(name, "r")
    except Exception:
        return False
    return True


def test_the_second_session_names_the_decoders_without_importing_pyav(tmp_path: Path) -> None:
    decoders = _decoders()
    assert decoders  # the test environment's PyAV decodes VP8, VP9, H.264, H.265
    assert _run(tmp_path) == f"{decoders} True"
    cached = json.loads((tmp_path / _video.CACHE_NAME).read_text())
    assert cached["decoders"] == decoders and "av/__init__.py|" in cached["key"]
    assert _run(tmp_path) == f"{decoders} False"


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"key": "another installation|1|2", "decoders": ["vp8"]}',
        "[1, 2]",
        None,  # the key of this installation, with a decoder name nobody knows
    ],
)
def test_a_stale_or_broken_cache_is_asked_again(tmp_path: Path, text: str | None) -> None:
    path = tmp_path / _video.CACHE_NAME
    path.parent.mkdir(parents=True)
    if text is None:
        _run(tmp_path)
        data = json.loads(path.read_text())
        text = json.dumps({"key": data["key"], "decoders": ["vp8", "made-up"]})
    path.write_text(text)
    assert _run(tmp_path) == f"{_decoders()} True"
    assert json.loads(path.read_text())["decoders"] == _decoders()


def test_an_unwritable_cache_is_no_error(tmp_path: Path) -> None:
    (tmp_path / "spice-python").write_text("a file where the directory would go")
    assert _run(tmp_path) == f"{_decoders()} True"


def test_a_decoder_gone_since_it_was_cached_is_a_stream_error_and_forgets_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _video._av_codecs.cache_clear()
    try:
        assert _video._av_codecs()
        path = tmp_path / _video.CACHE_NAME
        assert path.exists()

        def gone(*_: object) -> object:
            raise av.FFmpegError(0, "decoder not found")

        monkeypatch.setattr(av.CodecContext, "create", gone)
        with pytest.raises(StreamError, match="no vp8 decoder in PyAV"):
            _video.make_decoder(int(_video.VideoCodecType.VP8))
        assert not path.exists()
    finally:
        _video._av_codecs.cache_clear()
