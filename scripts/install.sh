#!/usr/bin/env bash
# Install milsetctl into ./.venv, with the Debian packages WeasyPrint and the certificates need.
#   bash scripts/install.sh          # the tool
#   bash scripts/install.sh --test   # the tool + test tools (pytest, pypdf, scikit-image, ruff, mypy...), the
#                                    # `raw` extra (rawpy) and the command-line tools some tests and benchmarks
#                                    # compare against
# It waits for the Debian package lock when another apt-get or dpkg holds it (up to 10 minutes), and it fails
# (exit 1, naming the packages) when something the PDFs need is not there at the end: the Python install still
# happens, but the tool would stop at its first PDF.
set -euo pipefail
cd "$(dirname "$0")/.."

# the `raw` extra (rawpy, a 3 MB wheel with LibRaw inside) for every user: a finalist may send a camera RAW original
extras="[raw]"
test_tools=0
# --test: the test tools too (the RAW originals' tests develop real DNG files through LibRaw, not skip)
if [ "${1:-}" = "--test" ]; then extras="[test,raw]"; test_tools=1; fi

# Debian packages the PDFs need (README "Install" lists them): Pango for WeasyPrint, fontconfig's fc-match (the
# certificates check a name's characters against the fonts it finds), DejaVu and Noto CJK (Chinese names and
# titles, rare characters such as 䶮 included), HarfBuzz subsetting (fast font embedding).
pdf_packages=(libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-dejavu-core fonts-noto-cjk libharfbuzz-subset0)
# only for the tests and benchmarks: poppler-utils (pdftoppm renders a certificate), exiftool (the anonymised
# package's metadata check, the validate benchmark's baseline), zbar-tools (zbarimg reads a printed certificate's QR
# code back) and chromium (verify.html opened in a real headless browser: SubtleCrypto, from file://);
# chromium-driver (Selenium fills in a juror's scoring page in that Chromium) and libreoffice-calc-nogui (soffice
# opens a juror's XLSX headless: thumbnails, protection and validation as LibreOffice reads them)
test_packages=(poppler-utils libimage-exiftool-perl zbar-tools chromium chromium-driver libreoffice-calc-nogui)
LOCK_WAIT_S=600

apt_packages=("${pdf_packages[@]}")
[ "$test_tools" = 1 ] && apt_packages+=("${test_packages[@]}")

missing_of() {  # the packages of "$@" dpkg does not have installed
  local p
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || echo "$p"
  done
}

# apt_get ARGS...: apt-get that waits for the package lock: dpkg's own lock through DPkg::Lock::Timeout, and any
# other lock (apt-get update's lists lock on older apt, the archives lock) by trying again until LOCK_WAIT_S
apt_get() {
  local err start=$SECONDS
  err=$(mktemp)
  while true; do
    if $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$LOCK_WAIT_S" "$@" \
        >/dev/null 2>"$err"; then
      rm -f "$err"
      return 0
    fi
    if grep -qiE "could not get lock|unable to lock|unable to acquire|is held by process" "$err" \
        && [ $((SECONDS - start)) -lt "$LOCK_WAIT_S" ]; then
      echo "  apt-get $1: the package lock is held by another process; trying again in 10 s" >&2
      sleep 10
      continue
    fi
    sed 's/^/  /' "$err" >&2
    rm -f "$err"
    return 1
  done
}

apt_problem=""
if ! command -v dpkg >/dev/null; then
  echo "note: not a Debian system: install Pango, fontconfig, DejaVu and Noto CJK fonts and HarfBuzz's subset" \
       "library with your package manager (README, Install); checked below through WeasyPrint and fontconfig" >&2
else
  mapfile -t missing < <(missing_of "${apt_packages[@]}")
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo="none"; fi
    if [ "$sudo" = none ]; then
      echo "warning: not root and no sudo: cannot install ${missing[*]}" >&2
    else
      echo "Installing Debian packages: ${missing[*]}"
      # a failed update (no network, a mirror down) still leaves the lists apt already has: the install may work
      apt_get update -qq || echo "warning: apt-get update failed (above); installing from the lists apt has" >&2
      apt_get install -y -qq --no-install-recommends "${missing[@]}" || echo "error: apt-get install failed (above)" >&2
    fi
    mapfile -t still < <(missing_of "${pdf_packages[@]}")
    if [ ${#still[@]} -gt 0 ]; then
      apt_problem="Debian packages the PDFs need are not installed: ${still[*]}
  install them: sudo apt-get install --no-install-recommends ${still[*]}"
    fi
    if [ "$test_tools" = 1 ]; then
      mapfile -t still < <(missing_of "${test_packages[@]}")
      if [ ${#still[@]} -gt 0 ]; then
        apt_problem="${apt_problem:+$apt_problem
}Debian packages the tests need are not installed: ${still[*]}"
      fi
    fi
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

# what a PDF needs, asked the way the tool asks: WeasyPrint loads Pango, fontconfig finds the template's fonts
check_err=$(mktemp)
pdf_check=$(cd / && "$OLDPWD/.venv/bin/python" - 2>"$check_err" <<'EOF'
try:
    import weasyprint  # noqa: F401  (loads Pango through cffi: OSError when it is missing)
except OSError as exc:
    print(f"WeasyPrint cannot load Pango ({exc})")
from milsetctl.certificates.fonts import missing_fonts

missing = missing_fonts()
if missing:
    print(f"fontconfig (fc-match) does not find these fonts: {', '.join(missing)}")
EOF
) || pdf_check="the PDF check failed: ${pdf_check}$(tail -n 5 "$check_err")"
rm -f "$check_err"
if [ -n "$pdf_check" ]; then
  apt_problem="${apt_problem:+$apt_problem
}$pdf_check"
fi

# axe-core from npm, only with --test: tests/test_accessibility.py runs it in headless Chromium on the gallery, the
# reports and verify.html (WCAG 2.1 AA). Pinned: a new release adds rules, and "0 violations" would then change on
# an unchanged page. Into .venv/axe-core (made again with the venv, never committed).
AXE_CORE_VERSION=4.14.1
if [ "$test_tools" = 1 ]; then
  axe_dir=.venv/axe-core
  have=$(node -p "require('./$axe_dir/node_modules/axe-core/package.json').version" 2>/dev/null || true)
  if [ "$have" != "$AXE_CORE_VERSION" ]; then
    if ! command -v npm >/dev/null; then
      apt_problem="${apt_problem:+$apt_problem
}npm not found: the accessibility tests need axe-core (install Node.js and npm, then run this again)"
    elif ! npm install --prefix "$axe_dir" --no-save --no-audit --no-fund --loglevel=error \
        "axe-core@$AXE_CORE_VERSION" >/dev/null; then
      apt_problem="${apt_problem:+$apt_problem
}npm install axe-core@$AXE_CORE_VERSION failed (above): the accessibility tests need it"
    fi
  fi
fi

if [ -n "$apt_problem" ]; then
  echo "milsetctl installed in .venv ($version), but not all it needs (PDFs: contact sheet, certificates):" >&2
  echo "error: $apt_problem" >&2
  exit 1
fi
echo "milsetctl installed in .venv ($version)"
