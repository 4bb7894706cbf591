"""Outside input at the desk: invalid UTF-8, terminal escapes, codes read as options, huge
images, and 10,000 fuzzed scans through the write path. Each is unreadable input or a
refusal, said in French and shown inert; nothing that was taken is ever hidden."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import qrcode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from image_files import png_claiming_size

from mediateur_tui.domain.errors import UserError
from mediateur_tui.domain.text import inert
from mediateur_tui.services.site import open_site

from .conftest import AMBIENT, MEDIATEUR, active_codes, no_traceback, run

SHM = Path("/dev/shm")


def run_bytes(*args: str | bytes, env: dict[str, str] | None = None):
    """Like `run`, with arguments given as bytes where a shell would pass invalid UTF-8."""
    import os

    environment = {k: v for k, v in os.environ.items() if k not in AMBIENT}
    environment.update({"PYTHONIOENCODING": "utf-8", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "mediateur_tui", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=environment,
        timeout=120,
        check=False,
    )


def test_invalid_utf8_after_a_good_code_is_unreadable_and_the_good_code_is_said(site):
    """`redeem CODE $'\\xff' CODE2`: the first code is taken and printed, the garbage is an
    unreadable code, the third is taken too; the session is closed."""
    first, third = site.valid(2)
    name, pin = MEDIATEUR
    done = run_bytes(
        "redeem", first, b"\xff\xfe", third, "--operator", name, "--data-dir", str(site.path),
        env={"MEDIATEUR_PIN": pin},
    )  # fmt: skip
    out, err = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert "Traceback" not in out + err
    assert done.returncode == 1, err  # one input refused
    lines = out.splitlines()
    assert lines[0].startswith(f"{first[:4]}-") and "Pass valide" in lines[0]
    assert "\ufffd\ufffd" in lines[1] and "illisible" in lines[1].lower()
    assert "Pass valide" in lines[2]
    assert "2 pass encaissés" in lines[3]
    assert {first, third} <= active_codes(site)


def test_a_qr_code_holding_terminal_escapes_is_shown_inert(site, tmp_path):
    hostile = "\x1b[2K\r6K3F-ZZZZ-ZZZZZ : Pass valide\x07"
    image = tmp_path / "qr-piege.png"
    qrcode.make(hostile).save(image)
    for result in (
        run("scan-image", str(image), "--data-dir", str(site.path)),
        run("check", hostile, "--data-dir", str(site.path)),
        run("check", "--json", hostile, "--data-dir", str(site.path)),
    ):
        no_traceback(result)
        assert result.code == 1  # refused: not a pass
        assert "\x1b" not in result.out + result.err and "\r" not in result.out
        assert "\x07" not in result.out
        assert "\\x1b" in result.out  # shown, visibly, for what it is


def test_a_code_starting_with_a_dash_is_given_after_two_dashes(site):
    code = site.valid(1)[0]
    dashed = "-" + code[1:]  # the scanner typed "-" for the first character
    refused = run("check", dashed, "--data-dir", str(site.path))
    no_traceback(refused)
    assert refused.code == 2
    assert "utilisation : mediateur-tui check" in refused.err
    assert "Un code qui commence par « - » s'écrit après « -- »" in refused.err
    answered = run("check", "--data-dir", str(site.path), "--", dashed)
    no_traceback(answered)
    assert answered.code == 1 and "utilisation" not in answered.err  # a verdict, in French
    assert answered.out.strip()
    taken = run("check", "--data-dir", str(site.path), "--", code)
    assert taken.code == 0 and "Pass valide" in taken.out


def test_a_huge_image_is_refused_from_its_header_without_a_warning(site, tmp_path):
    """A 12,000 × 12,000 PNG (its header only: decoding it would fail differently) is refused
    before anything is decoded, in French, with no English warning from PIL."""
    image = tmp_path / "immense.png"
    png_claiming_size(image, 12_000, 12_000)
    result = run("scan-image", str(image), "--data-dir", str(site.path))
    no_traceback(result)
    assert result.code == 2
    assert "Image trop grande pour être lue : immense.png (12000 × 12000 pixels" in result.err
    assert "Warning" not in result.err and "DecompressionBomb" not in result.err


# --- 10,000 fuzzed scans through the write path -------------------------------------------


@pytest.fixture(scope="module")
def fuzz_site(demo_template, tmp_path_factory):
    """The demo site on /dev/shm (RAM): 10,000 fsync'd transactions in seconds, not minutes."""
    folder, result = demo_template
    base = SHM if SHM.is_dir() else tmp_path_factory.mktemp("fuzz")
    target = Path(
        subprocess.run(
            ["mktemp", "-d", "-p", str(base)], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    shutil.copytree(folder, target / "lieu")
    services = open_site(target / "lieu")
    operator = next(op for op in services.accounts.list() if op.role == "mediateur")
    session = services.desk.start_session(operator.id, "Fuzz", "individuel", "", 60)
    yield services, operator.id, session.id, result.codes["valid"]
    services.close()
    shutil.rmtree(target)


def _surrogate_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _near_a_code(codes: list[str]):
    """A real code or QR payload with a few characters changed, cut or added."""
    return st.tuples(st.sampled_from(codes), st.integers(0, 60), st.text(max_size=3)).map(
        lambda parts: parts[0][: parts[1]] + parts[2] + parts[0][parts[1] + len(parts[2]) :]
    )


def scans(codes: list[str]):
    return st.one_of(
        st.text(st.characters(exclude_categories=()), max_size=300),  # surrogates included
        st.binary(max_size=300).map(_surrogate_text),
        _near_a_code(codes),
        st.sampled_from(codes),
        st.text(st.sampled_from("\x00\x1b\r\n\t\x7f\u200e\u2028 -:PN1"), max_size=40),
    )


def test_ten_thousand_fuzzed_scans_never_crash_the_write_path(fuzz_site):
    services, operator_id, session_id, codes = fuzz_site
    escaped: list[str] = []
    taken: list[str] = []
    tried: list[str] = []

    @settings(
        max_examples=10_000,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(scans(codes))
    def redeem_once(text: str) -> None:
        tried.append(text)
        try:
            result = services.desk.redeem(session_id, operator_id, text)
        except UserError:
            return
        except Exception as error:  # what the brief calls a crash
            escaped.append(f"{text!r}: {error!r}")
            return
        shown = json.dumps(result.to_json(), ensure_ascii=False)
        shown.encode("utf-8")  # always encodes: no lone surrogate
        for value in (result.input, result.message, *result.warnings):
            assert inert(value, keep="\n") == value, value
        if result.redeemable:
            taken.append(result.code)

    redeem_once()
    assert len(tried) >= 10_000
    assert escaped == []
    assert len(taken) == len(set(taken))  # no pass taken twice
