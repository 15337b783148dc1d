#!/usr/bin/env bash
# Install milsetctl into ./.venv, with the Debian libraries WeasyPrint and the checks need.
#   bash scripts/install.sh          # the tool
#   bash scripts/install.sh --test   # the tool + test tools (pytest, pypdf, scikit-image, ruff)
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"

# Debian packages: Pango for WeasyPrint, HarfBuzz subsetting (fast font embedding), Noto CJK (Chinese names and
# titles in the PDFs, rare characters such as 䶮 included), poppler-utils (pdftoppm/pdftotext for checks),
# exiftool for the benchmark's baseline.
apt_packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk poppler-utils
              libimage-exiftool-perl)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo="none"; fi
  if [ "$sudo" = none ]; then
    echo "warning: please install these Debian packages: ${missing[*]}" >&2
  else
    echo "Installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || echo "warning: could not install ${missing[*]}; PDFs and the benchmark's exiftool baseline need them" >&2
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>/dev/null || true
set +e
PYTHONWARNINGS=ignore .venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extras}" 2>&1 \
  | grep -v -E "^WARNING: Location .* is ignored"
pip_status=${PIPESTATUS[0]}
set -e
# checked from outside the checkout, so a package that did not install is not found in the current folder
version=$(cd / && "$OLDPWD/.venv/bin/milsetctl" --version 2>/dev/null) || version=""
if [ "$pip_status" != 0 ] || [ -z "$version" ]; then
  echo "error: milsetctl did not install into .venv (pip exit status $pip_status); see pip's message above" >&2
  exit 1
fi
echo "milsetctl installed in .venv ($version)"
