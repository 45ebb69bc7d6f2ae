#!/usr/bin/env bash
# The tools the tests need beyond node_modules, and the Debian packages that provide them.
# Sourced by install-ruby.sh, install-chromium.sh and check-tools.sh, so the check that decides
# whether to install and the check that `npx projen test` runs first are the same.

# test/conformance: Ruby, ActionCable and ActiveSupport (Rails 6.1 on Debian bookworm) and puma.
RUBY_PACKAGES=(ruby ruby-actioncable ruby-activesupport puma)
# test/e2e/browser-demo.test.ts drives /usr/bin/chromium with puppeteer-core. fonts-dejavu-core:
# with --no-install-recommends Chromium may come without any font, and the test's screenshot
# would show boxes instead of text.
CHROMIUM=/usr/bin/chromium
CHROMIUM_PACKAGES=(chromium fonts-dejavu-core)

ruby_ready() {
  command -v ruby >/dev/null 2>&1 \
    && command -v puma >/dev/null 2>&1 \
    && ruby -e 'require "action_cable"; require "active_support"; require "active_support/message_verifier"' >/dev/null 2>&1
}

chromium_ready() {
  [ -x "$CHROMIUM" ]
}

# apt_missing <package>...: prints those of the packages dpkg does not list as installed (all of
# them where there is no dpkg).
apt_missing() {
  local package
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      echo "$package"
    fi
  done
}

# apt_command <package>...: the command that installs the packages on this machine.
apt_command() {
  local sudo=''
  [ "$(id -u)" -eq 0 ] || sudo='sudo '
  echo "${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends $*"
}
