#!/usr/bin/env bash
# Installs Lượt from this offline bundle, with no network: checks the files, installs the Debian packages in
# debs/ (if the bundle has them), creates the service user, a venv in PREFIX/venv from wheels/ only, the
# instance (database, secret key) and the systemd units. Run as root:  sudo ./install.sh
# Options: --prefix DIR (/opt/luot)  --instance-dir DIR (/var/lib/luot)  --backup-dir DIR (/var/backups/luot)
#          --user NAME (luot)  --no-user (run as the current user)  --no-service (no systemd units)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prefix=/opt/luot instance=/var/lib/luot backups=/var/backups/luot user=luot make_user=1 service=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --instance-dir) instance="$2"; shift 2 ;;
    --backup-dir) backups="$2"; shift 2 ;;
    --user) user="$2"; shift 2 ;;
    --no-user) make_user=0; user=$(id -un); shift ;;
    --no-service) service=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
say() { printf '==> %s\n' "$*"; }

say "checking the bundle"
(cd "$here" && sha256sum --quiet -c SHA256SUMS)

wanted=$(cat "$here/PYTHON_VERSION")
python=$(command -v "python$wanted" || true)
[ -n "$python" ] || { echo "python$wanted is needed (this bundle was built for it): apt-get install python3" >&2; exit 1; }

missing=()
while read -r pkg; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$here/debian-packages.txt"
if [ ${#missing[@]} -gt 0 ]; then
  if [ -d "$here/debs" ]; then
    say "installing Debian packages from the bundle: ${missing[*]}"
    debs=()  # only packages not installed yet: never replace (or downgrade) what the system has
    for deb in "$here"/debs/*.deb; do
      pkg=$(dpkg-deb -f "$deb" Package)
      dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || debs+=("$deb")
    done
    apt-get install -y --no-download "${debs[@]}" >/dev/null
  else
    echo "WARNING: Debian packages missing (calls are not spoken / tickets not drawn without them):" \
         "${missing[*]} — install them, or build the bundle with --with-debs" >&2
  fi
fi

if [ $make_user -eq 1 ] && ! id -u "$user" >/dev/null 2>&1; then
  say "creating the service user $user"
  useradd --system --home-dir "$instance" --no-create-home --shell /usr/sbin/nologin "$user"
fi

say "installing Python packages into $prefix/venv (from the bundle only)"
mkdir -p "$prefix"
"$python" -m venv --without-pip "$prefix/venv"
pipwheel=$(ls "$here"/wheels/pip-*.whl | head -n1)
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INDEX=1
"$prefix/venv/bin/python" "$pipwheel/pip" install --quiet --no-index --find-links "$here/wheels" "$pipwheel"
"$prefix/venv/bin/pip" install --quiet --no-index --find-links "$here/wheels" -r "$here/requirements.txt"
"$prefix/venv/bin/pip" install --quiet --no-index --no-deps --find-links "$here/wheels" "$here"/wheels/luot-*.whl
cp "$here/README.md" "$prefix/README.md"
cp -r "$here/deploy" "$prefix/"

say "preparing the instance in $instance"
mkdir -p "$instance" "$backups"
chown "$user" "$instance" "$backups"
chmod 0750 "$instance" "$backups"
as_user=()
[ "$(id -un)" = "$user" ] || as_user=(runuser -u "$user" --)
luot=("${as_user[@]}" env LUOT_INSTANCE_DIR="$instance" "$prefix/venv/bin/luot")
if [ -f "$instance/luot.sqlite3" ]; then
  "${luot[@]}" upgrade --backup-dir "$backups"  # a reinstall over an existing centre: backup, then migrations
else
  "${luot[@]}" init
fi

if [ $service -eq 1 ]; then
  say "writing the systemd units"
  "$prefix/venv/bin/luot" install-service --user "$user" --instance-dir "$instance" --backup-dir "$backups"
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now luot.service luot-rollup.timer luot-backup.timer
  fi
fi
say "done. Settings: /etc/luot/luot.env; check with: LUOT_INSTANCE_DIR=$instance $prefix/venv/bin/luot doctor"
