#!/usr/bin/env bash
# Installs Debian's Chromium for the browser end-to-end test (test/e2e/browser-demo.test.ts),
# which drives /usr/bin/chromium with puppeteer-core. Nothing is downloaded but Debian packages
# (puppeteer-core never fetches a browser of its own). Idempotent: does nothing when
# /usr/bin/chromium is already there.
# Usage: .ci/install-chromium.sh   (as root, or as a user with passwordless sudo; `npx projen setup`)
set -euo pipefail
source "$(dirname "$0")/tools.sh"

if chromium_ready; then
  echo "install-chromium: $("$CHROMIUM" --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi

source "$(dirname "$0")/apt.sh"
apt_install install-chromium "${CHROMIUM_PACKAGES[@]}"

if ! chromium_ready; then
  echo "install-chromium: $CHROMIUM still missing after installing ${CHROMIUM_PACKAGES[*]}" >&2
  exit 1
fi
echo "install-chromium: $("$CHROMIUM" --version)"
