"""Where the data lives: --data-dir, else MEDIATEUR_DATA_DIR, else the user data directory;
the demo goes to a `demo` sub-folder unless a directory is given explicitly."""

from __future__ import annotations

from pathlib import Path

from mediateur_tui.cli import main
from mediateur_tui.cli.data_dir import resolve_data_dir
from mediateur_tui.store.sqlite_file import DATABASE_FILENAME


def test_option_beats_environment_beats_platform_default(tmp_path, monkeypatch):
    xdg = tmp_path / "xdg-data"  # set by the autouse fixture
    assert resolve_data_dir(None) == xdg / "mediateur-tui"
    assert resolve_data_dir(None, demo=True) == xdg / "mediateur-tui" / "demo"

    monkeypatch.setenv("MEDIATEUR_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir("", demo=False) == tmp_path / "env"
    assert resolve_data_dir(None, demo=True) == tmp_path / "env" / "demo"

    assert resolve_data_dir(str(tmp_path / "opt")) == tmp_path / "opt"
    assert resolve_data_dir(str(tmp_path / "opt"), demo=True) == tmp_path / "opt"


def test_empty_environment_variable_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIATEUR_DATA_DIR", "")
    assert resolve_data_dir(None) == tmp_path / "xdg-data" / "mediateur-tui"


def test_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "maison"))
    assert resolve_data_dir("~/pass") == tmp_path / "maison" / "pass"
    monkeypatch.setenv("MEDIATEUR_DATA_DIR", "~/env")
    assert resolve_data_dir(None, demo=True) == tmp_path / "maison" / "env" / "demo"


def test_demo_without_a_directory_goes_to_the_demo_subfolder(tmp_path, monkeypatch, capsys):
    env_dir = tmp_path / "env"
    monkeypatch.setenv("MEDIATEUR_DATA_DIR", str(env_dir))
    assert main(["demo", "init", "--passes", "1"]) == 0
    assert f"Démo créée dans {env_dir / 'demo'}" in capsys.readouterr().out
    assert (env_dir / "demo" / DATABASE_FILENAME).is_file()
    assert not (env_dir / DATABASE_FILENAME).exists()
    # The site's own data directory (no demo) has no database: check refuses to run.
    assert main(["check", "7K3M-9QXR-4TBEZ"]) == 2
    assert str(env_dir) in capsys.readouterr().err


def test_data_dir_option_wins_over_the_environment_for_commands(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDIATEUR_DATA_DIR", str(tmp_path / "env"))
    chosen = tmp_path / "choisi"
    assert main(["demo", "init", "--data-dir", str(chosen), "--passes", "1"]) == 0
    capsys.readouterr()
    assert (chosen / DATABASE_FILENAME).is_file()
    assert not (tmp_path / "env").exists()
    # --data-dir is accepted before the command as well as after it.
    for argv in (
        ["--data-dir", str(chosen), "audit", "verify"],
        ["audit", "verify", "--data-dir", str(chosen)],
    ):
        assert main(argv) == 0
        assert "Journal d'audit intact" in capsys.readouterr().out
    assert main(["audit", "verify"]) == 2  # the environment's directory has no database


def test_platform_default_is_used_without_option_or_environment(tmp_path, capsys):
    assert main(["demo", "init", "--passes", "1"]) == 0
    capsys.readouterr()
    default = Path(tmp_path / "xdg-data" / "mediateur-tui")
    assert (default / "demo" / DATABASE_FILENAME).is_file()
    assert not (default / DATABASE_FILENAME).exists()


def test_a_home_of_no_user_is_a_french_error(tmp_path, monkeypatch, capsys):
    code = main(["--data-dir", "~nosuchuser-mediateur/x", "doctor"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Dossier des données introuvable" in err
    assert "l'utilisateur « nosuchuser-mediateur » n'existe pas" in err
    assert "inattendue" not in err
    monkeypatch.setenv("MEDIATEUR_DATA_DIR", "~nosuchuser-mediateur/y")
    assert main(["check", "ABC"]) == 2
    assert "Dossier des données (MEDIATEUR_DATA_DIR) introuvable" in capsys.readouterr().err
