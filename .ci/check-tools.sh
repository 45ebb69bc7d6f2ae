#!/usr/bin/env bash
# The first step of `npx projen test`: checks that the tools the tests need beyond node_modules
# are installed and, when one is not, says which and how to install it, and fails before anything
# else runs. Installs nothing (`npx projen setup` does).
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/tools.sh

missing=()
packages=()
if ! ruby_ready; then
  missing+=("Ruby with ActionCable, and puma (the Rails conformance tests, test/conformance)")
  packages+=("${RUBY_PACKAGES[@]}")
fi
if ! chromium_ready; then
  missing+=("Chromium at $CHROMIUM (the browser test, test/e2e/browser-demo.test.ts)")
  packages+=("${CHROMIUM_PACKAGES[@]}")
fi

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

mapfile -t uninstalled < <(apt_missing "${packages[@]}")
[ "${#uninstalled[@]}" -gt 0 ] || uninstalled=("${packages[@]}")
{
  echo "npx projen test needs tools that are not installed:"
  printf '  - %s\n' "${missing[@]}"
  echo "Install them (Debian packages; as root or with sudo), then run the tests again:"
  echo "  npx projen setup"
  echo "(.ci/install-ruby.sh and .ci/install-chromium.sh), or directly:"
  echo "  $(apt_command "${uninstalled[@]}")"
} >&2
exit 1
