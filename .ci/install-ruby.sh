#!/usr/bin/env bash
# Installs what the Rails conformance tests (test/conformance) need from the distribution's own
# packages: Ruby, ActionCable and ActiveSupport (Rails 6.1 on Debian bookworm) and puma.
# Nothing comes from rubygems.org. Idempotent: does nothing when everything is already there.
# Usage: .ci/install-ruby.sh   (as root, or as a user with passwordless sudo; `npx projen setup`)
set -euo pipefail
source "$(dirname "$0")/tools.sh"

versions() {
  echo "ruby $(ruby -e 'print RUBY_VERSION'), actioncable $(ruby -e 'require "action_cable"; print ActionCable.version'), $(puma --version 2>/dev/null | head -n1)"
}

if ruby_ready; then
  echo "install-ruby: $(versions) already installed"
  exit 0
fi

source "$(dirname "$0")/apt.sh"
apt_install install-ruby "${RUBY_PACKAGES[@]}"

if ! ruby_ready; then
  echo "install-ruby: ruby, puma or action_cable still missing after installing ${RUBY_PACKAGES[*]}" >&2
  exit 1
fi
echo "install-ruby: $(versions)"
