#!/usr/bin/env bash
# Installs Debian's Chromium for the browser end-to-end test (test/e2e/browser-demo.test.ts),
# which drives /usr/bin/chromium with puppeteer-core. Nothing is downloaded but Debian packages
# (puppeteer-core never fetches a browser of its own). Idempotent: does nothing when chromium is
# already on the PATH.
# Usage: .ci/install-chromium.sh   (as root, or as a user with passwordless sudo)
set -euo pipefail

# fonts-dejavu-core: with --no-install-recommends Chromium may come without any font, and the
# test's screenshot would show boxes instead of text.
PACKAGES=(chromium fonts-dejavu-core)

if command -v chromium >/dev/null 2>&1; then
  echo "install-chromium: $(chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-chromium: must run as root or with sudo available" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Refresh the package lists once, only when apt does not know the packages yet.
for package in "${PACKAGES[@]}"; do
  candidate="$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    "${SUDO[@]}" apt-get update
    break
  fi
done

"${SUDO[@]}" apt-get install -y --no-install-recommends "${PACKAGES[@]}"

if ! command -v chromium >/dev/null 2>&1; then
  echo "install-chromium: chromium still missing after installing ${PACKAGES[*]}" >&2
  exit 1
fi
echo "install-chromium: $(chromium --version)"
