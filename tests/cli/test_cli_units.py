"""The CLI's pure parts: exit-code mapping and summary text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import spice_net
import spice_proto as sp
import spice_session as ss
from spice_cli import main
from spice_cli._cli import build_parser
from spice_cli._exitcodes import ExitCode, classify
from spice_cli._summary import caps_text, describe_message, modes_text, surface_text


@pytest.mark.parametrize(
    ("exc", "code", "prefix"),
    [
        (ss.InvalidURI("'x': no port"), ExitCode.USAGE, "invalid URI: "),
        (spice_net.ConnectFailed("127.0.0.1:1: refused"), ExitCode.CONNECTION_FAILED, "connection failed: "),
        (spice_net.ConnectTimeout("slow"), ExitCode.TIMEOUT, "timed out: "),
        (
            spice_net.AuthenticationFailed(sp.LinkErr.PERMISSION_DENIED),
            ExitCode.AUTHENTICATION_FAILED,
            "auth",
        ),
        (spice_net.NeedSecured(sp.LinkErr.NEED_SECURED), ExitCode.LINK_REFUSED, "link refused: "),
        (spice_net.LinkRefused(sp.LinkErr.VERSION_MISMATCH), ExitCode.LINK_REFUSED, "link refused: "),
        (spice_net.TLSVerificationFailed("bad ca"), ExitCode.TLS_VERIFICATION_FAILED, "TLS verification"),
        (spice_net.NotSpiceServer("magic b'HTTP'"), ExitCode.NOT_SPICE, "not a SPICE server: "),
        (spice_net.ProtocolViolation("x"), ExitCode.PROTOCOL_ERROR, "protocol error: "),
        (spice_net.ChannelClosed("eof"), ExitCode.PROTOCOL_ERROR, "connection lost: "),
        (ss.ScreenshotTimeout("never still"), ExitCode.TIMEOUT, "timed out: never still"),
    ],
)
def test_classify(exc: Exception, code: ExitCode, prefix: str) -> None:
    found = classify(exc)
    assert found is not None
    assert found[0] == code and found[1].startswith(prefix)


def test_exit_codes_are_distinct() -> None:
    values = [int(c) for c in ExitCode]
    assert len(values) == len(set(values))


def test_exit_codes_are_documented_in_the_readme_and_help() -> None:
    readme = (Path(__file__).resolve().parents[2] / "packages" / "spice-cli" / "README.md").read_text()
    table = readme[readme.index("## Exit codes") :]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)}
    assert documented == {int(c) for c in ExitCode}
    epilog = build_parser().epilog or ""
    assert {int(m) for m in re.findall(r"^  (\d+) ", epilog, re.M)} == documented


def test_every_client_command_takes_the_connection_options() -> None:
    for command in ("connect", "screenshot", "view"):
        extra = ["out.png"] if command == "screenshot" else []
        args = build_parser().parse_args(
            [command, "spice://h:1", *extra, "--password", "p", "--ca-file", "ca.pem", "--timeout", "3"]
        )
        assert (args.uri, args.password, args.ca_file, args.host_subject, args.timeout) == (
            "spice://h:1",
            "p",
            "ca.pem",
            None,
            3.0,
        )


def test_usage_errors_name_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    cases = [
        (["view", "spice://h:1", "--timeout", "0"], "spice: --timeout must be > 0\n"),
        (["view", "spice://h:1", "--host-subject", "x"], "spice: invalid host subject: "),
        (["connect", "spice://h:1", "--seconds", "-1"], "spice: --seconds and --messages must be >= 0"),
    ]
    for argv, message in cases:
        assert main(argv) == ExitCode.USAGE
        assert capsys.readouterr().err.startswith(message), argv


def test_classify_leaves_bugs_alone() -> None:
    assert classify(KeyError("bug")) is None
    assert classify(ZeroDivisionError()) is None


def test_classified_message_is_one_line() -> None:
    found = classify(spice_net.ConnectFailed("first\nsecond\n  third"))
    assert found is not None and found[1] == "connection failed: first second third"


def test_caps_text() -> None:
    assert caps_text(sp.Caps.of(0, 3), sp.CommonCap) == "PROTOCOL_AUTH_SELECTION MINI_HEADER"
    assert caps_text(sp.Caps.of(1, 40), sp.MainCap) == "NAME_AND_UUID bit 40"
    assert caps_text(sp.Caps(), sp.MainCap) == "none"
    assert caps_text(sp.Caps.of(2), None) == "bit 2"


def test_modes_text() -> None:
    assert modes_text(sp.MouseMode.SERVER | sp.MouseMode.CLIENT) == "server, client"
    assert modes_text(sp.MouseMode.CLIENT) == "client"
    assert modes_text(sp.MouseMode(0)) == "none"


def test_describe_message() -> None:
    surface = sp.DisplaySurfaceCreate(0, 1024, 768, sp.SurfaceFmt.FMT_32_xRGB, sp.SurfaceFlags.PRIMARY)
    assert describe_message(surface) == "SURFACE_CREATE surface 0"
    assert describe_message(sp.DisplayMark()) == "MARK"
    unknown = sp.UnknownMessage(sp.ChannelType.DISPLAY, sp.Direction.SERVER_TO_CLIENT, 999, b"abc")
    assert describe_message(unknown) == "message 999 (3 bytes, not decoded)"
    event = ss.events.SurfaceCreated(sp.ChannelType.DISPLAY, 0, surface)
    assert surface_text(event) == "#0 1024x768 FMT_32_xRGB primary (display 0)"


def test_parser_defaults() -> None:
    args = build_parser().parse_args(["connect", "spice://h:1"])
    assert (args.seconds, args.timeout, args.messages, args.password) == (2.0, 10.0, 10, None)


def test_main_without_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == ExitCode.USAGE
    assert "connect" in capsys.readouterr().err


def test_main_usage_error_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connect", "spice://h"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("spice: invalid URI: ") and err.count("\n") == 1
