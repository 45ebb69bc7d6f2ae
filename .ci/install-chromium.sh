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

source "$(dirname "$0")/apt.sh"
apt_install install-chromium "${PACKAGES[@]}"

if ! command -v chromium >/dev/null 2>&1; then
  echo "install-chromium: chromium still missing after installing ${PACKAGES[*]}" >&2
  exit 1
fi
echo "install-chromium: $(chromium --version)"
