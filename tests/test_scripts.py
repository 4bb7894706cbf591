"""The set-up scripts: the apt step of scripts/bootstrap.sh waits (bounded) for another apt, and
scripts/install-commands.sh puts the two programs on the PATH.

apt itself is never run: a fake `apt-get` first on the PATH records how it was called. The lock
is a real fcntl lock (the kind apt takes) held by a child process, on a file given by APT_LOCKS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from terminal import run_in_pty

ROOT = Path(__file__).resolve().parents[1]
APT_INSTALL = ROOT / "scripts" / "apt-install.sh"
INSTALL_COMMANDS = ROOT / "scripts" / "install-commands.sh"
FAKE_APT_GET = """#!/bin/sh
echo "$(date +%s.%N) $*" >> "$APT_CALLS"
"""
HOLD_LOCK = """
import fcntl, sys, time
lock = open(sys.argv[1], "a")
fcntl.lockf(lock, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""

as_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="the script installs only as root (else it prints the command)"
)


@pytest.fixture
def fake_apt(tmp_path) -> dict[str, str]:
    """An environment whose `apt-get` records its calls in APT_CALLS, and whose apt lock is a
    file of the test."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    apt_get = bin_dir / "apt-get"
    apt_get.write_text(FAKE_APT_GET, encoding="utf-8")
    apt_get.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "APT_CALLS": str(tmp_path / "apt-calls"),
        "APT_LOCKS": str(tmp_path / "lock-frontend"),
        "python": sys.executable,
    }


def hold_lock(path: str, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, path, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    return holder


def apt_install(env: dict[str, str], *packages: str) -> subprocess.CompletedProcess[str]:
    script = f'source "{APT_INSTALL}"; as_root_apt_install {" ".join(packages)}'
    return subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def calls(env: dict[str, str]) -> list[tuple[float, str]]:
    path = Path(env["APT_CALLS"])
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(float(line.split(" ", 1)[0]), line.split(" ", 1)[1]) for line in lines]


@as_root
def test_without_another_apt_it_installs_at_once_with_a_lock_timeout(fake_apt):
    done = apt_install(fake_apt, "libzbar0")
    assert done.returncode == 0, done.stderr
    assert "attente" not in done.stderr
    commands = [command for _, command in calls(fake_apt)]
    assert commands == [
        "-o DPkg::Lock::Timeout=300 update -qq",
        "-o DPkg::Lock::Timeout=300 install -y -qq libzbar0",
    ]


@as_root
def test_it_waits_for_another_apt_then_installs(fake_apt):
    holder = hold_lock(fake_apt["APT_LOCKS"], 3)
    held_at = time.time()
    try:
        done = apt_install(fake_apt, "libzbar0")
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 0, done.stderr
    assert "Une autre installation de logiciels est en cours" in done.stderr
    assert "au plus 300 secondes" in done.stderr
    recorded = calls(fake_apt)
    assert [command.split()[-1] for _, command in recorded] == ["-qq", "libzbar0"]
    assert min(at for at, _ in recorded) >= held_at + 2.9  # only once the lock was released


@as_root
def test_it_gives_up_after_the_timeout_with_a_french_hint(fake_apt):
    holder = hold_lock(fake_apt["APT_LOCKS"], 30)
    try:
        started = time.monotonic()
        done = apt_install({**fake_apt, "APT_LOCK_TIMEOUT": "2"}, "libzbar0")
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1
    assert "occupe toujours apt après 2 secondes" in done.stderr
    assert "puis relancez" in done.stderr
    assert calls(fake_apt) == []  # apt was never started
    assert 2 <= elapsed < 20


@as_root
def test_a_failing_apt_get_says_what_to_do(fake_apt, tmp_path):
    failing = tmp_path / "bin" / "apt-get"
    failing.write_text(FAKE_APT_GET + "echo 'E: panne' >&2; exit 100\n", encoding="utf-8")
    done = apt_install(fake_apt, "libzbar0")
    assert done.returncode == 1
    assert "E: panne" in done.stderr
    assert "L'installation de « libzbar0 » avec apt-get a échoué" in done.stderr


def install_commands(home: Path, path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "PATH": path}
    return subprocess.run(
        ["bash", str(INSTALL_COMMANDS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_install_commands_links_both_programs_and_says_whether_they_are_on_the_path(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = home / ".local" / "bin"
    first = install_commands(home, os.environ["PATH"])
    assert first.returncode == 0, first.stderr
    for program in ("mediateur-tui", "mediateur-hub"):
        link = bin_dir / program
        assert link.is_symlink()
        assert link.resolve() == (ROOT / ".venv" / "bin" / program).resolve()
    assert f"{bin_dir} n'est pas encore dans le PATH" in first.stdout
    assert "prochaine connexion" in first.stdout

    on_path = install_commands(home, f"{bin_dir}:{os.environ['PATH']}")
    assert on_path.returncode == 0, on_path.stderr  # again: the links are replaced, no error
    assert "C'est prêt" in on_path.stdout
    version = subprocess.run(
        ["mediateur-tui", "--help"],
        env={**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert version.returncode == 0, version.stderr


def test_install_commands_never_replaces_a_file_of_the_user(tmp_path):
    home = tmp_path / "home"
    bin_dir = home / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    own = bin_dir / "mediateur-tui"
    own.write_text("#!/bin/sh\necho mine\n", encoding="utf-8")
    done = install_commands(home, os.environ["PATH"])
    assert done.returncode == 1
    assert "n'est pas un lien : il est laissé tel quel" in done.stderr
    assert own.read_text(encoding="utf-8") == "#!/bin/sh\necho mine\n"


def test_demo_says_how_to_put_the_commands_on_the_path(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIATEUR_", "XDG_"))}
    env.update(HOME=str(tmp_path), PATH="/usr/bin:/bin", TERM="xterm-256color")
    code, screen = run_in_pty("bash scripts/demo.sh", ROOT, env, (), until="Camille Martin")
    assert code == 0, screen
    assert "bash scripts/install-commands.sh" in screen
