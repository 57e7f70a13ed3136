#!/usr/bin/env bash
# Installs the Debian packages that are missing.
#   scripts/system-deps.sh demo  -> Python 3.11 with venv, and what the 帳票 PDFs need (WeasyPrint's
#                                   Pango/HarfBuzz libraries, Noto CJK fonts found through fontconfig)
#   scripts/system-deps.sh test  -> that, plus PostgreSQL 15, Redis, Chromium (for Playwright, never a
#                                   downloaded browser), Node.js/npm (axe-core)
set -euo pipefail
what=${1:-test}
need=()
command -v python3.11 >/dev/null || need+=(python3.11)
python3.11 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3.11-venv)
# 帳票 printing (src/madoguchi/printing, WeasyPrint): shared libraries it loads with cffi, and the fonts
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for pkg in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig; do
  installed "$pkg" || need+=("$pkg")
done
ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || need+=(fonts-noto-cjk)
if [ "$what" = "demo" ]; then
  :
else
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v redis-server >/dev/null || need+=(redis-server)
command -v chromium >/dev/null || need+=(chromium)
command -v npm >/dev/null || need+=(nodejs npm)
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${need[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
