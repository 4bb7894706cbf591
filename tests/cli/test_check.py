"""`mediateur-tui check`: one verdict per input, exit 0 when every input is redeemable, 1 when
any is refused, 2 on an error; `-` reads the inputs from standard input."""

from __future__ import annotations

import json
import signal
import sqlite3
import string
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mediateur_tui.cli import main
from mediateur_tui.services.site import open_site
from mediateur_tui.store.engine import open_database

from .conftest import bare, cli_environment, copy_demo, run_cli

JSON_KEYS = {"input", "code", "verdict", "redeemable", "message", "details", "warnings"}
CATEGORY_VERDICTS = {
    "valid": ("valid", 0),
    "grace": ("grace", 0),
    "expired": ("expired", 1),
    "not_yet_valid": ("not_yet_valid", 1),
    "revoked": ("revoked", 1),
    "redeemed_elsewhere": ("redeemed_elsewhere", 1),
    "unattributed": ("unattributed", 1),
    "other_programme": ("programme_not_accepted", 1),
}


def check(capsys, data_dir, text: str, *extra: str) -> tuple[int, str, str]:
    code = main(["check", "--data-dir", str(data_dir), *extra, "--", text])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("category", sorted(CATEGORY_VERDICTS))
def test_check_json_for_every_category(shared_demo_dir, capsys, category):
    verdict, exit_code = CATEGORY_VERDICTS[category]
    entries = shared_demo_dir.codes[category]
    for entry in entries[:2]:  # one QR payload, one bare code
        code, out, err = check(capsys, shared_demo_dir.path, entry, "--json")
        assert code == exit_code, out + err
        result = json.loads(out)
        assert set(result) == JSON_KEYS
        assert result["input"] == entry
        assert result["code"] == bare(entry)
        assert result["verdict"] == verdict
        assert result["redeemable"] is (exit_code == 0)
        assert isinstance(result["message"], str) and result["message"]
        assert isinstance(result["details"], dict)
        shown = bare(entry)
        assert result["details"]["code"] == f"{shown[:4]}-{shown[4:8]}-{shown[8:]}"
        assert result["warnings"] == []
        assert err == ""


def verdict_of(capsys, data_dir, text: str) -> tuple[int, str]:
    code, out, _ = check(capsys, data_dir, text, "--json")
    return code, json.loads(out)["verdict"]


def test_check_malformed_and_unknown(shared_demo_dir, capsys):
    data_dir = shared_demo_dir.path
    code, out, _ = check(capsys, data_dir, "pas un code", "--json")
    assert code == 1
    result = json.loads(out)
    assert result["verdict"] == "malformed"
    assert result["code"] is None
    valid = bare(shared_demo_dir.codes["valid"][1])
    typo = valid[:3] + ("0" if valid[3] != "0" else "1") + valid[4:]
    assert verdict_of(capsys, data_dir, typo) == (1, "malformed")
    # A well-formed code the registry does not hold.
    assert verdict_of(capsys, data_dir, "0000-0000-00000") == (1, "unknown")


def test_check_plain_text_is_french(shared_demo_dir, capsys):
    entry = shared_demo_dir.codes["valid"][1]
    code, out, _ = check(capsys, shared_demo_dir.path, entry.lower())
    assert code == 0
    assert out.startswith(f"{entry[:4]}-{entry[4:8]}-{entry[8:]} : Pass valide, 10,00 €")
    assert "10,00 €" in out


def test_check_in_a_subprocess(shared_demo_dir):
    entry = shared_demo_dir.codes["valid"][0]
    done = run_cli("check", entry, "--data-dir", str(shared_demo_dir.path), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == JSON_KEYS
    assert result["verdict"] == "valid"
    refused = run_cli(
        "check", shared_demo_dir.codes["revoked"][1], "--data-dir", str(shared_demo_dir.path)
    )
    assert refused.returncode == 1
    assert "Pass en opposition" in refused.stdout


def test_check_without_database_exits_2_in_french(tmp_path):
    empty = tmp_path / "vide"
    done = run_cli("check", "7K3M-9QXR-4TBEZ", "--data-dir", str(empty), "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Aucune base de données" in done.stderr
    assert "demo init" in done.stderr
    assert "--demo" in done.stderr


def test_check_without_database_beside_a_demo_says_to_add_demo(tmp_path):
    base = tmp_path / "données"
    created = run_cli("demo", "init", "--data-dir", str(base / "demo"), "--passes", "50")
    assert created.returncode == 0, created.stderr
    done = run_cli("check", "7K3M-9QXR-4TBEZ", "--data-dir", str(base))
    assert done.returncode == 2
    assert f"la démo est dans {base / 'demo'}" in done.stderr
    assert "mediateur-tui --demo check" in done.stderr


def test_check_with_a_database_but_no_replica_exits_2(tmp_path, capsys):
    data_dir = tmp_path / "sans-replique"
    open_database(data_dir / "mediateur.sqlite3").dispose()
    code, out, err = check(capsys, data_dir, "7K3M-9QXR-4TBEZ")
    assert code == 2
    assert out == ""
    assert "ne contient pas de réplique" in err


# --- several inputs, and standard input -------------------------------------------------------


def check_process(data_dir, *args: str, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    """`mediateur-tui check ARGS` as a process, `stdin` written to its standard input."""
    return subprocess.run(
        [sys.executable, "-m", "mediateur_tui", "check", "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        env=cli_environment(),
        timeout=60,
        check=False,
    )


def json_lines(output: bytes) -> list[dict]:
    return [json.loads(line) for line in output.decode("utf-8").splitlines()]


def check_many(capsys, data_dir, inputs: list[str], *options: str) -> tuple[int, str, str]:
    code = main(["check", "--data-dir", str(data_dir), *options, "--", *inputs])
    out, err = capsys.readouterr()
    return code, out, err


def test_several_inputs_give_a_line_each_in_their_order(shared_demo_dir, capsys):
    codes = shared_demo_dir.codes
    inputs = [codes["valid"][1], codes["revoked"][1], codes["grace"][0]]
    code, out, err = check_many(capsys, shared_demo_dir.path, inputs)
    assert code == 1, err
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{inputs[0][:4]}-{inputs[0][4:8]}-{inputs[0][8:]} : Pass valide")
    assert "Pass en opposition" in lines[1]
    assert lines[2].startswith(f"{bare(inputs[2])[:4]}-")
    code, out, _ = check_many(capsys, shared_demo_dir.path, [inputs[0], inputs[2]])
    assert code == 0 and len(out.splitlines()) == 2  # every input redeemable


def test_json_gives_one_object_per_input_per_line(shared_demo_dir, capsys):
    codes = shared_demo_dir.codes
    inputs = [codes["expired"][1], codes["valid"][0], "pas un code", codes["valid"][1]]
    code, out, _ = check_many(capsys, shared_demo_dir.path, inputs, "--json")
    assert code == 1
    results = [json.loads(line) for line in out.splitlines()]
    assert [result["input"] for result in results] == inputs
    assert [result["verdict"] for result in results] == ["expired", "valid", "malformed", "valid"]
    assert all(set(result) == JSON_KEYS for result in results)


def test_dash_reads_stdin_one_input_per_line_blank_lines_skipped(shared_demo_dir):
    codes = shared_demo_dir.codes
    stdin = f"{codes['valid'][1]}\n\n   \n{codes['grace'][1]}\r\n{codes['valid'][0]}".encode()
    done = check_process(shared_demo_dir.path, "--json", codes["grace"][0], "-", stdin=stdin)
    assert done.returncode == 0, done.stderr.decode()
    results = json_lines(done.stdout)
    assert [result["input"] for result in results] == [
        codes["grace"][0],
        codes["valid"][1],
        codes["grace"][1],  # the CRLF of a Windows file is no part of the input
        codes["valid"][0],  # a last line without a newline
    ]
    assert [result["verdict"] for result in results] == ["grace", "valid", "grace", "valid"]
    assert done.stderr == b""


def test_a_byte_order_mark_before_the_first_line_is_no_part_of_it(shared_demo_dir):
    valid = shared_demo_dir.codes["valid"][1]
    stdin = b"\xef\xbb\xbf" + valid.encode() + b"\r\n" + valid.encode() + b"\r\n"
    done = check_process(shared_demo_dir.path, "--json", "-", stdin=stdin)
    assert done.returncode == 0, done.stdout
    assert [result["input"] for result in json_lines(done.stdout)] == [valid, valid]


def test_a_closed_standard_input_is_said_in_french(shared_demo_dir):
    command = [sys.executable, "-m", "mediateur_tui", "check"]
    done = subprocess.run(
        [
            "bash",
            "-c",
            'exec "$@" <&-',
            "-",
            *command,
            "--data-dir",
            str(shared_demo_dir.path),
            "-",
        ],
        capture_output=True,
        env=cli_environment(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Entrée standard fermée" in done.stderr.decode("utf-8")
    assert b"Traceback" not in done.stderr


def test_a_folder_name_with_uri_characters_is_checked(demo_template, tmp_path, capsys):
    """« # », « % » and « ? » in the data folder's name: the URI of the file escapes them."""
    site = copy_demo(demo_template, tmp_path / "Lieu #3 à 100% ?")
    code, out, _ = check(capsys, site.path, site.codes["valid"][1], "--json")
    assert code == 0
    assert json.loads(out)["verdict"] == "valid"
    site_of_the_folder = open_site(site.path)  # the ORM's engine, through its URL
    try:
        assert site_of_the_folder.setup_state().has_operators
    finally:
        site_of_the_folder.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["Lieu #3 à 100% ?"]


def test_a_refused_line_of_stdin_exits_1_and_the_plain_output_is_french(shared_demo_dir):
    codes = shared_demo_dir.codes
    stdin = f"{codes['valid'][1]}\n{codes['redeemed_elsewhere'][1]}\n".encode()
    done = check_process(shared_demo_dir.path, "-", stdin=stdin)
    assert done.returncode == 1
    lines = done.stdout.decode("utf-8").splitlines()
    assert lines[0].endswith("Pass valide, 10,00 € — carnet C0000001.")
    assert lines[1].startswith(f"{codes['redeemed_elsewhere'][1][:4]}-")
    assert "Pass valide" not in lines[1]


def test_unreadable_lines_of_stdin_are_refused_as_unreadable_arguments_are(shared_demo_dir):
    valid = shared_demo_dir.codes["valid"][1]
    stdin = b"\xff\xfe\n" + b"6W\x00Z\n" + valid.encode() + b"\n"
    done = check_process(shared_demo_dir.path, "--json", "-", stdin=stdin)
    assert done.returncode == 1, done.stderr.decode()
    results = json_lines(done.stdout)
    assert [result["verdict"] for result in results] == ["malformed", "malformed", "valid"]
    assert "illisible" in results[0]["message"]
    assert done.stderr == b""
    by_argument = run_cli("check", "--data-dir", str(shared_demo_dir.path), "--json", "6W\x01Z")
    assert (
        json.loads(by_argument.stdout)["message"]
        == json_lines(
            check_process(shared_demo_dir.path, "--json", "-", stdin=b"6W\x01Z\n").stdout
        )[0]["message"]
    )


def test_empty_stdin_is_a_french_error(shared_demo_dir):
    done = check_process(shared_demo_dir.path, "-", stdin=b"\n  \n")
    assert done.returncode == 2
    assert done.stdout == b""
    assert "Aucun code à vérifier" in done.stderr.decode("utf-8")


def test_verdicts_come_as_the_lines_do_and_an_interruption_keeps_them(shared_demo_dir):
    """A script may feed `check -` line by line: each verdict is out before the next line is
    written; stopped in the middle (Ctrl-C), what was printed stays and the exit code is 2."""
    codes = shared_demo_dir.codes
    data_dir = str(shared_demo_dir.path)
    process = subprocess.Popen(
        [sys.executable, "-m", "mediateur_tui", "check", "--json", "-", "--data-dir", data_dir],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_environment(),
    )
    assert process.stdin and process.stdout and process.stderr
    verdicts = []
    for entry in (codes["valid"][1], codes["revoked"][1]):
        process.stdin.write(entry.encode() + b"\n")
        process.stdin.flush()
        verdicts.append(json.loads(process.stdout.readline())["verdict"])
    assert verdicts == ["valid", "revoked"]
    process.send_signal(signal.SIGINT)  # it waits for the next line
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert out == b""
    assert "Interrompu" in err.decode("utf-8")
    assert "Traceback" not in err.decode("utf-8")


# --- arbitrary input never crashes -------------------------------------------------------------

_PAYLOAD_ALPHABET = string.ascii_uppercase + string.digits + ":-. " + "&é\"'(è_çà?"


def _demo_text_strategy(codes: dict[str, list[str]]):
    entries = [entry for values in codes.values() for entry in values]
    mangled = st.tuples(st.sampled_from(entries), st.integers(0, 200), st.text(max_size=3)).map(
        lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
    )
    return st.one_of(
        st.text(max_size=80),
        st.text(alphabet=_PAYLOAD_ALPHABET, max_size=160),
        st.sampled_from(entries),
        mangled,
    )


def test_check_never_crashes(shared_demo_dir, capsys):
    """One demo database for the whole module; about 50 examples."""
    texts = _demo_text_strategy(shared_demo_dir.codes)

    @settings(
        max_examples=50,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(text=texts)
    @example(text="")
    @example(text="-h")
    @example(text="PN1:::::")
    @example(text="PN1:HDFNUM:0000000000000:99999999:AAAA")
    @example(text="\x00" * 600)
    def run(text: str) -> None:
        code, out, err = check(capsys, shared_demo_dir.path, text, "--json")
        assert code in {0, 1, 2}, (text, err)
        if code in {0, 1}:
            result = json.loads(out)
            assert set(result) == JSON_KEYS
            assert result["redeemable"] is (code == 0)

    run()


def test_replica_max_age_sets_when_the_stale_warning_appears(demo_dir, capsys):
    with sqlite3.connect(demo_dir.path / "mediateur.sqlite3") as connection:
        connection.execute("UPDATE replica_meta SET updated_at = datetime(updated_at, '-3 days')")
    entry = demo_dir.codes["valid"][1]
    code, out, _ = check(capsys, demo_dir.path, entry, "--json")
    assert code == 0 and json.loads(out)["warnings"] == []  # 3 days < the default 7
    code, out, _ = check(capsys, demo_dir.path, entry, "--json", "--replica-max-age", "2")
    result = json.loads(out)
    assert code == 0 and result["verdict"] == "valid"  # warned, not blocked
    assert "3 jours" in result["warnings"][0]
    code, _, err = check(capsys, demo_dir.path, entry, "--replica-max-age", "0")
    assert code == 2 and "--replica-max-age" in err


def test_a_huge_replica_max_age_is_a_french_error(demo_dir, capsys):
    entry = demo_dir.codes["valid"][1]
    code, _, err = check(capsys, demo_dir.path, entry, "--replica-max-age", "999999999999")
    assert code == 2
    assert "--replica-max-age doit être un nombre de jours entre 1 et 3660" in err
    assert "inattendue" not in err
