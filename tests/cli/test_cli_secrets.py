"""No password ever reaches output: stdout, stderr, log records, exception messages or reprs.

Every path a password can take is driven for real (the ``spice`` command as a process
against our server, the libraries in-process with every logger at DEBUG) and every
stream, record and repr is searched for the secret.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
import spice_net
import spice_session as ss
import trio
from PIL import Image
from spice_cli import main
from spice_cli._cli import build_parser
from spice_cli._secrets import password_from
from spice_server import Framebuffer, Server

RIGHT = "Xyzzy-right-7f3"
WRONG = "Xyzzy-wrong-9a1"
SPICE = [sys.executable, "-m", "spice_cli"]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("SPICE_PASSWORD", "DISPLAY", "WAYLAND_DISPLAY")}


def assert_no_secret(*texts: str | bytes) -> None:
    for text in texts:
        shown = text.decode(errors="replace") if isinstance(text, bytes) else text
        for secret in (RIGHT, WRONG):
            assert secret not in shown, shown


def everything_said(exc: BaseException) -> str:
    """What a traceback of ``exc`` would print, causes and contexts included, plus each repr."""
    parts = traceback.format_exception(type(exc), exc, exc.__traceback__)
    seen: BaseException | None = exc
    while seen is not None:
        parts.append(repr(seen))
        seen = seen.__cause__ or seen.__context__
    return "".join(parts)


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "ticket"
    path.write_text(RIGHT + "\n")
    return path


@pytest.fixture
def wrong_file(tmp_path: Path) -> Path:
    path = tmp_path / "wrong"
    path.write_text(WRONG + "\r\n")
    return path


@pytest.fixture
def serve_proc() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.parametrize("origin", ["--password", "--password-file", "SPICE_PASSWORD"])
async def test_serve_and_clients_never_print_the_password(
    origin: str,
    password_file: Path,
    wrong_file: Path,
    serve_proc: list[subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    picture = tmp_path / "picture.png"
    Image.new("RGB", (64, 48), (200, 30, 90)).save(picture)
    env = clean_env()
    how = {"--password": ["--password", RIGHT], "--password-file": ["--password-file", str(password_file)]}
    if origin == "SPICE_PASSWORD":
        env["SPICE_PASSWORD"] = RIGHT
    source = ["--source", "image", str(picture)]
    cmd = [*SPICE, "serve", "-v", "--listen", "127.0.0.1:0", *source, *how.get(origin, [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    serve_proc.append(proc)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline().decode()
    shown_origin = f"--password-file {password_file}" if origin == "--password-file" else origin
    shown_origin = "$SPICE_PASSWORD" if origin == "SPICE_PASSWORD" else shown_origin
    assert first.endswith(f" (password required: the one from {shown_origin})\n"), first
    uri = first.split(" on ", 1)[1].split(" ", 1)[0]
    assert uri.startswith("spice://127.0.0.1?port=") and "password" not in uri

    async def spice(*args: str) -> subprocess.CompletedProcess[bytes]:
        with trio.fail_after(60):
            return await trio.run_process(
                [*SPICE, *args], capture_stdout=True, capture_stderr=True, check=False, env=clean_env()
            )

    right = await spice("connect", uri, "--password-file", str(password_file), "--seconds", "0.3")
    assert right.returncode == 0, right.stderr
    wrong = await spice("connect", uri, "--password-file", str(wrong_file))
    assert wrong.returncode == 4 and b"authentication failed" in wrong.stderr
    wrong_uri = await spice("connect", f"{uri}&password={WRONG}")
    assert wrong_uri.returncode == 4
    shot = await spice("screenshot", f"{uri}&password={RIGHT}", str(tmp_path / "shot.png"))
    assert shot.returncode == 0, shot.stderr
    assert shot.stdout.decode() == f"{tmp_path / 'shot.png'}: 64x48\n"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)  # (loaded: the exit GC alone took seconds)
    assert proc.returncode == 130
    assert b"link failed" in err  # -v logged the refused links: the logs were there to search
    assert_no_secret(first, out, err)
    for result in (right, wrong, wrong_uri, shot):
        assert_no_secret(result.stdout, result.stderr)


DEMO = [*SPICE, "demo", "--headless", "--listen", "127.0.0.1:0", "--size", "320x200"]


async def test_demo_headless_never_prints_the_password(tmp_path: Path, password_file: Path) -> None:
    shot = tmp_path / "demo.png"
    with trio.fail_after(90):
        result = await trio.run_process(
            [*DEMO, "--password-file", str(password_file), "--screenshot", str(shot)],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env=clean_env(),
        )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert f"password from --password-file {password_file}" in lines[0]
    assert shot.is_file()  # the demo's own client got in with the password it was not shown
    assert_no_secret(result.stdout, result.stderr)


@pytest.mark.parametrize(
    "argv",
    [
        ["connect", f"spice://127.0.0.1?password={WRONG}"],  # no port
        ["connect", f"spice://127.0.0.1:1?password={WRONG}&colour=red"],
        ["connect", f"spice://user:{WRONG}@127.0.0.1:1"],
        ["connect", f"spice://127.0.0.1:1?password={WRONG}&{WRONG}"],
        ["screenshot", f"127.0.0.1:1?password={WRONG}", "out.png"],
        ["view", f"spice://127.0.0.1:1/vm?password={WRONG}"],
        ["connect", "--pasword", WRONG, "spice://127.0.0.1:1"],  # a typo: argparse lists the extras
        ["connect", "spice://127.0.0.1:1", f"--passwd={WRONG}"],
        ["connect", f"spice://127.0.0.1:1?password={WRONG}", "extra"],
        ["connect", "--password", WRONG, "--timeout", "soon", "spice://127.0.0.1:1"],
        ["connect", "--password", WRONG + "x" * 60, "spice://127.0.0.1:1"],  # too long for SPICE
        ["connect", f"spice://127.0.0.1:1?password={WRONG}{'x' * 60}"],
        ["serve", "--password", WRONG + "\0", "--listen", "127.0.0.1:0"],
        ["demo", "--password", WRONG * 5, "--headless", "--listen", "127.0.0.1:0"],
    ],
)
def test_usage_errors_never_print_the_password(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPICE_PASSWORD", raising=False)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.strip() and "Traceback" not in err
    assert_no_secret(out, err)


def test_usage_errors_still_show_what_is_not_secret(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--password-lifetime", "soon"]) == 2
    assert "invalid float value: 'soon'" in capsys.readouterr().err
    assert main(["connect", "--password-file", "/x", "--timeout", "never", "spice://h:1"]) == 2
    assert "invalid float value: 'never'" in capsys.readouterr().err


def test_password_file_problems_name_the_file_not_the_content(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = {
        "long": (WRONG * 5).encode(),
        "nul": WRONG.encode() + b"\0x",
        "latin1": WRONG.encode() + b"\xff",
        "empty-first-line": b"\n" + WRONG.encode(),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert main(["connect", "spice://127.0.0.1:1", "--password-file", str(tmp_path / name)]) == 2
        out, err = capsys.readouterr()
        assert str(tmp_path / name) in err
        assert_no_secret(out, err)
    missing = tmp_path / "missing"
    assert main(["serve", "--password-file", str(missing)]) == 2
    assert f"cannot read the password file {missing}" in capsys.readouterr().err


async def test_libraries_never_log_or_repr_the_password(caplog: pytest.LogCaptureFixture) -> None:
    """Server and session in-process with every logger at DEBUG: right and wrong passwords."""
    caplog.set_level(logging.DEBUG)
    server = Server(Framebuffer(64, 48), password=RIGHT)
    failures: list[BaseException] = []
    async with trio.open_nursery() as nursery:
        addr = await nursery.start(server.serve, "127.0.0.1", 0)
        uri = f"spice://127.0.0.1:{addr.port}?password={RIGHT}"
        async with ss.connect(uri, timeout=10) as session:
            await session.screenshot(timeout=10)
            reprs = [repr(session.uri), str(session.uri), repr(ss.parse_uri(uri)), repr(server)]
        for attempt in (
            ss.connect(f"spice://127.0.0.1:{addr.port}?password={WRONG}", timeout=10),
            ss.connect(f"spice://127.0.0.1:{addr.port}", password=WRONG, timeout=10),
            ss.connect(f"spice://127.0.0.1:{addr.port}", timeout=10),
        ):
            with pytest.raises(spice_net.AuthenticationFailed) as info:
                async with attempt:
                    pass
            failures.append(info.value)
        for bad in (f"spice://127.0.0.1?password={RIGHT}", f"spice://u:{RIGHT}@127.0.0.1:1"):
            with pytest.raises(ss.InvalidURI) as bad_info:
                ss.parse_uri(bad)
            failures.append(bad_info.value)
        nursery.cancel_scope.cancel()
    assert any("link failed" in r.getMessage() for r in caplog.records)  # the refusals were logged
    logged = [r.getMessage() + (r.exc_text or "") + repr(r.args) for r in caplog.records]
    assert_no_secret(*reprs, *logged, *(everything_said(exc) for exc in failures))


def test_every_command_with_a_password_takes_a_password_file(tmp_path: Path) -> None:
    path = tmp_path / "ticket"
    path.write_text(f"{RIGHT}\nsecond line, ignored\n")
    for argv in (
        ["connect", "spice://h:1"],
        ["screenshot", "spice://h:1", "out.png"],
        ["view", "spice://h:1"],
        ["serve"],
        ["demo"],
    ):
        args = build_parser().parse_args([*argv, "--password-file", str(path)])
        assert password_from(args) == RIGHT, argv
