"""`mediateur-hub` commands, run in-process through `main()`: output, files, exit codes."""

from __future__ import annotations

import asyncio
import csv
import os
import re
import socket
import stat
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from contract import validate

from mediateur_tui.domain.clock import fixed_clock
from mediateur_tui.domain.french_cli import os_error_text
from mediateur_tui.domain.signatures import key_fingerprint, new_private_key, public_key_bytes
from mediateur_tui.hub import replica
from mediateur_tui.hub.cli import main
from mediateur_tui.hub.cli.exchange import serve_socket
from mediateur_tui.hub.database import HubSettings, open_hub, resolve_settings
from mediateur_tui.hub.enrolment import complete_enrolment, enrol_site
from mediateur_tui.hub.replica import last_sequence
from mediateur_tui.protocol.documents import dump_gzip_json, dump_json, load_json
from mediateur_tui.protocol.files import write_file
from mediateur_tui.protocol.formats import (
    ACK,
    ATTRIBUTIONS,
    BATCH,
    ENROLMENT,
    ENROLMENT_REQUEST,
    MAX_DOCUMENT_BYTES,
    REPLICA_SNAPSHOT,
    REPLICA_SNAPSHOT_LINES,
)
from mediateur_tui.protocol.signing import encode_key, region_signer, verify_document
from mediateur_tui.protocol.snapshot_lines import SnapshotReader

from .helpers import Site, gzip_bomb, line, make_batch, table_counts
from .server import hub_program

# The commands that import a document file, and the format each reads.
IMPORTS = {
    "import-enrolment": ENROLMENT_REQUEST,
    "import-batch": BATCH,
    "import-attributions": ATTRIBUTIONS,
}
NESTED = b"[" * 1000 + b"]" * 1000


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def hub_dir(tmp_path: Path, capsys) -> Path:
    folder = tmp_path / "hub"
    assert run(capsys, "--dir", str(folder), "init", "--region-id", "HDF")[0] == 0
    return folder


def test_the_region_lifecycle_by_command(hub_dir: Path, tmp_path: Path, capsys) -> None:
    d = ("--dir", str(hub_dir))
    code, out, _ = run(
        capsys, "issue", *d, "--programme", "HDFNUM", "--carnets", "2", "--size", "5",
        "--valid-from", "2026-01-01", "--valid-until", "31/12/2026", "--qr-sheets",
    )  # fmt: skip
    assert code == 0
    assert (
        "2 carnets de 5 pass émis pour le programme HDFNUM (C0000001 à C0000002), 10 pass." in out
    )
    printer = hub_dir / "impression" / "carnets-HDFNUM-C0000001-C0000002.csv"
    with printer.open(encoding="utf-8") as handle:
        codes = [row[2].replace("-", "") for row in list(csv.reader(handle, delimiter=";"))[1:]]
    assert len(codes) == 10
    assert len(list((hub_dir / "impression" / "planches-qr").glob("*.png"))) == 2

    code, out, _ = run(
        capsys, *d, "attribute", "C0000001", "--beneficiary", "B-001", "--on", "2026-02-01"
    )
    assert (code, out.strip()) == (
        0,
        "Carnet C0000001 attribué le 01/02/2026 (bénéficiaire B001).",  # stored without dash
    )
    code, out, _ = run(capsys, *d, "revoke", codes[1], "--reason", "stolen", "--on", "2026-11-01")
    assert code == 0 and "en opposition (volé) depuis le 01/11/2026" in out

    code, out, _ = run(
        capsys, *d, "enrol-site", "--site-id", "AVESNES-EPN", "--name", "EPN d'Avesnes"
    )
    assert code == 0
    token = re.search(r"^    (\S+)$", out, re.MULTILINE).group(1)
    assert "█" in out  # the terminal QR code
    site = _enrolled_site(hub_dir, token)

    replica = tmp_path / "usb" / "replique.json.gz"
    code, out, _ = run(capsys, *d, "export-replica", str(replica))
    assert code == 0 and "Réplique exportée" in out
    with replica.open("rb") as stream:
        reader = SnapshotReader(stream)
        assert len(list(reader.changes())) == reader.seal["changes"]
    validate(reader.head, REPLICA_SNAPSHOT_LINES)
    hub = open_hub(resolve_settings(str(hub_dir)))
    assert reader.head["until"] == last_sequence(hub)
    verify_document(reader.seal, hub.region_public_key, region_signer("HDF"))
    hub.engine.dispose()

    batch = make_batch(
        site, [line(codes[0], "2026-11-12T09:30:00Z"), line(codes[1], "2026-11-12T09:31:00Z")]
    )
    batch_file = tmp_path / "usb" / "remise-AVESNES-EPN-2026-11.json.gz"
    batch_file.write_bytes(dump_gzip_json(batch))
    code, out, _ = run(capsys, *d, "import-batch", str(batch_file))
    assert code == 0
    assert "2 lignes, 1 acceptée (10,00 €), 1 refusée." in out
    ack_file = tmp_path / "usb" / f"accuse-{batch['batch_id']}.json.gz"
    ack = load_json(ack_file.read_bytes(), ACK)
    validate(ack, "ack")
    code, out, _ = run(
        capsys, *d, "import-batch", str(batch_file), "--out", str(tmp_path / "autre")
    )
    assert code == 0 and "Remise déjà reçue : rien n'a changé" in out
    again = load_json((tmp_path / "autre" / ack_file.name).read_bytes(), ACK)
    assert again == ack

    out_dir = tmp_path / "releves"
    code, out, _ = run(
        capsys,
        *d,
        "statement",
        "--site",
        "avesnes-epn",
        "--month",
        "2026-11",
        "--out",
        str(out_dir),
    )
    assert code == 0
    assert "1 pass accepté pour 10,00 €, 1 ligne refusée." in out
    assert (out_dir / "releve-AVESNES-EPN-2026-11.pdf").read_bytes().startswith(b"%PDF")

    # Every file the hub wrote (keys, database, printer files, QR sheets, replica export,
    # acknowledgements, statements) is readable by its owner only; its folder too.
    assert stat.S_IMODE(hub_dir.stat().st_mode) == 0o700
    written = [
        path
        for folder in (hub_dir, tmp_path / "usb", tmp_path / "autre", out_dir)
        for path in folder.rglob("*")
        if path.is_file() and path != batch_file  # the batch: made by this test
    ]
    assert len(written) >= 10
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in written} == {
        path.name: 0o600 for path in written
    }


def _enrolled_site(hub_dir: Path, token: str) -> Site:
    key = new_private_key()
    hub = open_hub(resolve_settings(str(hub_dir)))
    answer = complete_enrolment(
        hub,
        {
            "format": ENROLMENT_REQUEST,
            "token": token,
            "site_public_key": encode_key(public_key_bytes(key)),
        },
    )
    hub.engine.dispose()
    return Site(id=answer["site_id"], key=key, api_key=answer["api_key"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("attribute", "C0000042", "--beneficiary", "B"), "Erreur : Carnet inconnu : C0000042."),
        (("revoke", "7K3M-9QXR-4TBEX", "--reason", "lost"), "vérifiez la saisie"),
        (("statement", "--site", "X", "--month", "2026-11"), "Erreur : Site inconnu : X."),
        (("init", "--region-id", "BRE"), "déjà celui de la région HDF"),
    ],
)
def test_data_errors_exit_2_with_a_french_message(hub_dir, capsys, args, message) -> None:
    code, _, err = run(capsys, "--dir", str(hub_dir), *args)
    assert code == 2
    assert message in err


def test_a_tampered_batch_file_is_refused(hub_dir: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "remise.json.gz"
    bad.write_bytes(b"\x1f\x8b\x08 pas un gzip")
    code, _, err = run(capsys, "--dir", str(hub_dir), "import-batch", str(bad))
    assert (code, err.strip()) == (2, "Erreur : Fichier compressé endommagé (gzip illisible).")
    code, _, err = run(capsys, "--dir", str(hub_dir), "import-batch", str(tmp_path / "absent.json"))
    assert code == 2 and err.startswith("Erreur : Fichier introuvable")


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(600 * 1024 * 1024)


def _write_unusable_file(kind: str, path: Path, document_format: str, bomb: bytes) -> None:
    if kind == "nested":
        path.write_bytes(NESTED)
    elif kind == "nested-gzip":
        path.write_bytes(zlib.compress(NESTED, wbits=31))
    elif kind == "oversized":
        with path.open("wb") as stream:  # a sparse file: no disk space for the zeros
            stream.truncate(MAX_DOCUMENT_BYTES[document_format] + 1)
    else:
        path.write_bytes(bomb)


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("nested", "Erreur : Document refusé : ses listes et objets sont imbriqués sur plus"),
        ("nested-gzip", "Erreur : Document refusé : ses listes et objets sont imbriqués"),
        ("oversized", "Erreur : Document trop volumineux : un document pn-"),
        ("gzip-bomb", "Erreur : Document trop volumineux : un document pn-"),
    ],
)
@pytest.mark.parametrize("command", sorted(IMPORTS))
def test_an_unusable_file_exits_2_and_changes_nothing(
    hub_dir: Path, tmp_path: Path, capsys, bomb, command: str, kind: str, message: str
) -> None:
    folder = tmp_path / "cle-usb"
    folder.mkdir()
    path = folder / "document.json"
    _write_unusable_file(kind, path, IMPORTS[command], bomb)
    hub = open_hub(resolve_settings(str(hub_dir), None))
    before = table_counts(hub)
    code, out, err = run(capsys, "--dir", str(hub_dir), command, str(path))
    assert (code, out) == (2, "")
    assert err.startswith(message) and "Traceback" not in err
    assert [entry.name for entry in folder.iterdir()] == ["document.json"]
    assert table_counts(hub) == before
    hub.engine.dispose()


def test_a_nested_file_gets_a_french_message_from_the_real_command(
    hub_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "remise.json"
    path.write_bytes(NESTED)
    command = [*hub_program(), "--dir", str(hub_dir), "import-batch", str(path)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2
    assert finished.stderr == (
        "Erreur : Document refusé : ses listes et objets sont imbriqués sur plus de 32 "
        "niveaux (un document du protocole en a bien moins).\n"
    )


def test_a_snapshot_v1_past_its_cap_is_not_written(
    hub_dir: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A /1 every site would refuse (past MAX_DOCUMENT_BYTES once decompressed) exits 2 and
    leaves the file there as it was; at its very size it is written."""
    monkeypatch.setattr(replica, "system_clock", fixed_clock(datetime(2026, 12, 4, tzinfo=UTC)))
    d = ("--dir", str(hub_dir))
    code, _, _ = run(
        capsys, *d, "issue", "--programme", "HDFNUM", "--carnets", "3", "--size", "10",
        "--valid-from", "2026-01-01", "--valid-until", "2026-12-31",
    )  # fmt: skip
    assert code == 0
    folder = tmp_path / "usb"
    path = folder / "replique.json.gz"
    assert run(capsys, *d, "export-replica", "--format", "1", str(path))[0] == 0
    exported = path.read_bytes()
    size = len(zlib.decompress(exported, 31))
    path.write_bytes(b"an older export")

    monkeypatch.setitem(MAX_DOCUMENT_BYTES, REPLICA_SNAPSHOT, size - 1)
    code, out, err = run(capsys, *d, "export-replica", "--format", "1", str(path))
    assert code == 2 and out == "" and "Traceback" not in err
    assert "Réplique trop grande pour le format 1" in err and "--format 2" in err
    assert [p.name for p in folder.iterdir()] == [path.name]  # no temporary file left
    assert path.read_bytes() == b"an older export"

    monkeypatch.setitem(MAX_DOCUMENT_BYTES, REPLICA_SNAPSHOT, size)
    code, out, _ = run(capsys, *d, "export-replica", "--format", "1", str(path))
    assert code == 0 and "Réplique exportée" in out
    assert path.read_bytes() == exported


def test_commands_need_an_initialised_hub(tmp_path: Path, capsys) -> None:
    code, _, err = run(
        capsys, "export-replica", "--dir", str(tmp_path / "vide"), str(tmp_path / "r.gz")
    )
    assert code == 2 and "mediateur-hub init" in err


def test_usage_errors_exit_2_in_french(capsys) -> None:
    code, _, err = run(capsys, "issue", "--programme", "X", "--carnets", "1", "--size", "7")
    assert code == 2
    assert "mediateur-hub issue : erreur : argument --size : choix invalide : 7" in err


def test_the_hub_directory_comes_from_the_environment(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MEDIATEUR_HUB_DIR", str(tmp_path / "depuis-env"))
    assert run(capsys, "init", "--region-id", "HDF")[0] == 0
    assert (tmp_path / "depuis-env" / "region_ed25519.key").exists()
    assert (tmp_path / "depuis-env" / "hub.sqlite3").exists()
    monkeypatch.setenv("MEDIATEUR_HUB_DB", f"sqlite:///{tmp_path / 'ailleurs.db'}")
    assert run(capsys, "--dir", str(tmp_path / "d2"), "init", "--region-id", "HDF")[0] == 0
    assert (tmp_path / "ailleurs.db").exists()


def test_a_hub_folder_named_with_uri_characters_holds_its_database(tmp_path, capsys) -> None:
    folder = tmp_path / "Région ? #1 100%"
    assert run(capsys, "--dir", str(folder), "init", "--region-id", "HDF")[0] == 0
    assert (folder / "hub.sqlite3").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == [folder.name]


def test_init_and_enrol_site_print_the_region_key_fingerprint(tmp_path: Path, capsys) -> None:
    hub_dir = str(tmp_path / "hub")
    code, out, _ = run(capsys, "init", "--region-id", "HDF", "--dir", hub_dir)
    assert code == 0
    hub = open_hub(resolve_settings(directory=hub_dir))
    fingerprint = key_fingerprint(hub.region_public_key)
    hub.engine.dispose()
    assert f"Empreinte de la clé de la région : {fingerprint}" in out
    code, out, _ = run(
        capsys, "enrol-site", "--site-id", "S1", "--name", "Site 1", "--no-qr", "--dir", hub_dir
    )
    assert code == 0 and fingerprint in out


@pytest.mark.parametrize("distributor", [True, False], ids=["distributor", "plain-site"])
def test_import_enrolment_writes_an_answer_only_its_owner_can_read(
    settings: HubSettings, tmp_path: Path, capsys, distributor: bool
) -> None:
    base = ("--dir", str(settings.directory), "--db", settings.database_url)
    assert run(capsys, *base, "init", "--region-id", "HDF")[0] == 0
    hub = open_hub(settings)
    token = enrol_site(hub, "LE-CATEAU-PIMMS", "PIMMS", distributor=distributor)
    hub.engine.dispose()
    usb = tmp_path / "cle-usb"
    usb.mkdir()
    request = usb / "demande.json"
    key = new_private_key()
    request.write_bytes(
        dump_json(
            {
                "format": ENROLMENT_REQUEST,
                "token": token,
                "site_public_key": encode_key(public_key_bytes(key)),
            }
        )
    )
    answer_path = usb / "inscription-LE-CATEAU-PIMMS.json"
    answer_path.write_bytes(b"{}")  # an old answer left on the key, readable by all
    answer_path.chmod(0o644)
    code, out, _ = run(capsys, *base, "import-enrolment", str(request))
    assert code == 0
    assert stat.S_IMODE(answer_path.stat().st_mode) == 0o600
    answer = load_json(answer_path.read_bytes(), ENROLMENT)
    validate(answer, "enrolment")
    assert ("beneficiary_key" in answer) is distributor
    assert "effacez-le de la clé USB dès que le site l'a importé" in out
    assert ("clé des bénéficiaires de la région" in out) is distributor
    assert sorted(path.name for path in usb.iterdir()) == [request.name, answer_path.name]


def test_a_home_of_no_user_is_a_french_error(tmp_path, monkeypatch, capsys) -> None:
    code, _, err = run(capsys, "--dir", "~nosuchuser-mediateur/x", "lines")
    assert code == 2
    assert "Dossier du hub introuvable" in err
    assert "l'utilisateur « nosuchuser-mediateur » n'existe pas" in err
    monkeypatch.setenv("MEDIATEUR_HUB_DIR", "~nosuchuser-mediateur/y")
    code, _, err = run(capsys, "lines")
    assert code == 2 and "Dossier du hub (MEDIATEUR_HUB_DIR) introuvable" in err


def test_issue_into_an_unwritable_folder_issues_nothing(hub_dir, tmp_path, capsys) -> None:
    """The printer's files are written before the carnets are committed: no carnets without
    their file (which a second `issue` would double)."""
    not_a_folder = tmp_path / "impression.txt"
    not_a_folder.write_text("déjà là\n", encoding="utf-8")
    hub = open_hub(resolve_settings(str(hub_dir), None))
    before = table_counts(hub)
    code, out, err = run(
        capsys, "--dir", str(hub_dir), "issue", "--programme", "HDFNUM", "--carnets", "2",
        "--out", str(not_a_folder), "--qr-sheets",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert "Fichiers d'impression impossibles à écrire" in err
    assert "aucun carnet n'a été émis" in err and "File exists" not in err
    assert table_counts(hub) == before
    assert not_a_folder.read_text(encoding="utf-8") == "déjà là\n"
    code, _, _ = run(
        capsys, "--dir", str(hub_dir), "issue", "--programme", "HDFNUM", "--carnets", "1",
        "--out", str(tmp_path / "imprimeur"), "--qr-sheets",
    )  # fmt: skip
    assert code == 0
    assert sorted(path.name for path in (tmp_path / "imprimeur").iterdir()) == [
        "carnets-HDFNUM-C0000001-C0000001.csv",
        "planches-qr",
    ]
    hub.engine.dispose()


def test_serve_on_a_port_in_use_or_out_of_range_is_a_french_error(hub_dir) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [*hub_program(), "serve", "--dir", str(hub_dir), "--port", str(port)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert busy.returncode == 2, busy.stderr
    assert f"Impossible d'écouter sur 127.0.0.1:{port}" in busy.stderr
    assert "le port est déjà utilisé" in busy.stderr
    assert "Traceback" not in busy.stderr and "address already in use" not in busy.stderr
    for wrong in ("99999", "-1", "huit"):
        out_of_range = subprocess.run(
            [*hub_program(), "serve", "--dir", str(hub_dir), "--port", wrong],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert out_of_range.returncode == 2
        assert f"port invalide « {wrong} » (de 1 à 65535, ou 0)" in out_of_range.stderr


def test_the_connections_serve_accepts_send_at_once_nagle_off() -> None:
    """`serve` binds its socket itself; asyncio (as uvicorn serves it) turns Nagle's algorithm
    off only on connections of a socket that says it is TCP. Left on, each answer's body
    waited for the client's delayed acknowledgement of its headers: about 40 ms a request."""

    async def accepted_nodelay() -> int:
        options: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Recording(asyncio.Protocol):
            def connection_made(self, transport) -> None:
                connection = transport.get_extra_info("socket")
                options.set_result(connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Recording, sock=listening)
        async with server:
            _reader, writer = await asyncio.open_connection(*listening.getsockname())
            value = await options
            writer.close()
        return value

    listening = serve_socket("127.0.0.1", 0)
    with listening:
        assert asyncio.run(accepted_nodelay()) == 1


def test_a_fifo_or_a_folder_given_as_a_document_is_refused_at_once(hub_dir, tmp_path) -> None:
    """Reading a FIFO would block for ever: it is refused, as a folder is, in French."""
    fifo = tmp_path / "tube.json.gz"
    os.mkfifo(fifo)
    for path, what in ((fifo, "est un tube ou un périphérique"), (tmp_path, "est un dossier")):
        for command in ("import-batch", "import-attributions", "import-enrolment"):
            refused = subprocess.run(
                [*hub_program(), "--dir", str(hub_dir), command, str(path)],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert refused.returncode == 2, (command, refused.stderr)
            assert f"« {path} » {what}, pas un fichier" in refused.stderr, refused.stderr
            assert "Traceback" not in refused.stderr


def test_a_file_that_cannot_be_written_is_named_not_its_temporary(tmp_path) -> None:
    folder = tmp_path / "lecture-seule"
    folder.mkdir()
    with pytest.raises(OSError) as raised:
        write_file(folder / "absent" / "document.json", b"{}")
    assert raised.value.filename == str(folder / "absent" / "document.json")
    assert "fichier ou dossier introuvable" in os_error_text(raised.value)


def test_a_huge_pass_value_is_a_french_error(hub_dir, capsys) -> None:
    hub = open_hub(resolve_settings(str(hub_dir), None))
    before = table_counts(hub)
    code, _, err = run(
        capsys, "--dir", str(hub_dir), "issue", "--programme", "HDFNUM", "--carnets", "1",
        "--value-cents", "99999999999999999999999", "--out", str(hub_dir / "impression"),
    )  # fmt: skip
    assert code == 2
    assert "La valeur d'un pass est au plus 1000000 centimes (10000 €)" in err
    assert table_counts(hub) == before
    hub.engine.dispose()
