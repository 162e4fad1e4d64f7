#!/usr/bin/env bash
# Builds the offline bundle: one tar.gz to carry into a centre whose LAN has no internet (see README
# "Running a centre"). Contents:
#   wheels/                 every Python wheel of requirements-runtime.lock for the target Python, pip, and Lượt
#                           itself (with the built browser assets inside)
#   requirements.txt        the pins (name==version) install.sh installs, from the wheels only
#   debian-packages.txt     the Debian packages Lượt needs; debs/ holds them with --with-debs
#   install.sh, README.md, deploy/ (nginx example), SHA256SUMS
# Usage: scripts/bundle.sh [--out DIR] [--python 3.11|3.12|3.13] [--with-debs]
# Needs the registries (PyPI, and Debian with --with-debs) — it runs where the internet is, not at the centre.
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist
target=""
with_debs=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --python) target="$2"; shift 2 ;;
    --with-debs) with_debs=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
python=.venv/bin/python
[ -x "$python" ] || { echo "run make setup first (needs .venv)" >&2; exit 1; }
here=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
target=${target:-$here}
arch=$(uname -m)
version=$("$python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml","rb"))["project"]["version"])')
name="luot-$version-py$target-$arch"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
stage="$work/$name"
mkdir -p "$stage/wheels" "$stage/deploy"
pip=("$python" -m pip --disable-pip-version-check --quiet)

# 1. Browser assets (built into */static/build, which the Lượt wheel carries).
if [ -d node_modules ]; then npm run --silent build >/dev/null 2>&1; fi
for f in kiosk display counter dashboard booking; do
  ls "$f"/static/build/*.js >/dev/null 2>&1 || { echo "no built assets in $f/static/build: run make web" >&2; exit 1; }
done

# 2. Lượt itself as a wheel.
"${pip[@]}" wheel --no-deps --no-build-isolation -w "$stage/wheels" . 2>&1 | grep -v "^WARNING: Location" || true
ls "$stage"/wheels/luot-*.whl >/dev/null

# 3. The pinned dependencies for the target (hash-checked against the lock while downloading) and pip.
pins="$stage/requirements.txt"
hashed="$work/requirements-$target.lock"
"$python" scripts/lock_for.py "$target" requirements-runtime.lock "$hashed" "$pins"
quiet() { grep -v "^WARNING: Location" || true; }
if [ "$target" = "$here" ]; then
  # Same interpreter: builds the few packages published as sources only.
  "${pip[@]}" wheel --require-hashes -r "$hashed" -w "$stage/wheels" 2>&1 | quiet
  "${pip[@]}" download --no-deps --only-binary=:all: -d "$stage/wheels" pip 2>&1 | quiet
else
  abi="cp${target/./}"
  target_args=(--only-binary=:all: --python-version "$target" --implementation cp --abi "$abi" --abi abi3 --abi none
               --platform "manylinux_2_28_$arch" --platform "manylinux_2_17_$arch" --platform "manylinux2014_$arch"
               --platform "linux_$arch" --platform any)
  "${pip[@]}" download --no-deps --require-hashes -r "$hashed" -d "$stage/wheels" "${target_args[@]}" 2>&1 | quiet
  "${pip[@]}" download --no-deps -d "$stage/wheels" "${target_args[@]}" pip 2>&1 | quiet
fi
"$python" scripts/lock_for.py "$target" requirements-runtime.lock "$hashed" "$pins" "$stage/wheels"
echo "$target" > "$stage/PYTHON_VERSION"

# 4. Debian packages: the list always, the packages themselves on request.
./scripts/system-deps.sh --list > "$stage/debian-packages.txt"
if [ $with_debs -eq 1 ]; then
  mkdir -p "$stage/debs"
  deps=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
         --no-enhances --no-pre-depends $(cat "$stage/debian-packages.txt") | grep '^[a-z0-9]' | sort -u)
  (cd "$stage/debs" && apt-get download $deps 2>&1 | grep -v "unsandboxed" >&2 || true)
  ls "$stage"/debs/*.deb >/dev/null
fi

# 5. Installer, docs, deployment examples, checksums.
cp deploy/bundle/install.sh "$stage/install.sh"
chmod +x "$stage/install.sh"
cp README.md "$stage/README.md"
cp deploy/nginx.conf deploy/nginx-tls.conf "$stage/deploy/"
(cd "$stage" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS)
mkdir -p "$out"
tar -C "$work" -czf "$out/$name.tar.gz" "$name"
echo "$out/$name.tar.gz"
