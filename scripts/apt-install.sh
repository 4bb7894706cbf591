# Installs Debian packages when we are root, else says exactly what to install; sourced by
# scripts/bootstrap.sh. Another apt (unattended upgrades, a software centre) may hold apt's locks:
# it waits for them, up to APT_LOCK_TIMEOUT seconds (300 by default), and says so in French.
# APT_LOCKS lists the lock files (tests/test_scripts.py holds one of its own).

APT_LOCKS="${APT_LOCKS:-/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock}"

apt_locks_busy() {
  # apt locks with fcntl (flock does not see it): try each lock without waiting.
  # shellcheck disable=SC2086 # APT_LOCKS is a list of paths
  "${python:-python3}" - $APT_LOCKS <<'PY'
import fcntl, sys
for path in sys.argv[1:]:
    try:
        with open(path, "a") as lock:
            fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except FileNotFoundError:
        continue
    except OSError:
        sys.exit(0)
sys.exit(1)
PY
}

wait_for_apt() {
  local timeout="${APT_LOCK_TIMEOUT:-300}" waited=0
  if apt_locks_busy; then
    echo "Une autre installation de logiciels est en cours (apt, mises à jour automatiques) :" \
      "attente de sa fin, au plus $timeout secondes…" >&2
    while apt_locks_busy; do
      if [ "$waited" -ge "$timeout" ]; then
        echo "L'autre installation occupe toujours apt après $timeout secondes. Attendez qu'elle" \
          "se termine (« ps -C apt,apt-get,dpkg,unattended-upgr » la montre), puis relancez" \
          "cette commande." >&2
        return 1
      fi
      sleep 2
      waited=$((waited + 2))
    done
  fi
}

as_root_apt_install() {
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    wait_for_apt || exit 1
    # The lock timeout covers an apt that starts between the wait and the install.
    local apt=(apt-get -o "DPkg::Lock::Timeout=${APT_LOCK_TIMEOUT:-300}")
    if ! { "${apt[@]}" update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq "$@" >/dev/null; }; then
      echo "L'installation de « $* » avec apt-get a échoué (message ci-dessus) ; corrigez, puis" \
        "relancez, ou installez-le vous-même : « apt-get install $* »." >&2
      exit 1
    fi
  else
    echo "Paquet système manquant : installez-le avec « sudo apt-get install $* », puis relancez." >&2
    exit 1
  fi
}
