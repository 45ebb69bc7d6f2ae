#!/usr/bin/env bash
# Installs what the Rails conformance tests (test/conformance) need from the distribution's own
# packages: Ruby, ActionCable and ActiveSupport (Rails 6.1 on Debian bookworm) and puma.
# Nothing comes from rubygems.org. Idempotent: does nothing when everything is already there.
# Usage: .ci/install-ruby.sh   (as root, or as a user with passwordless sudo)
set -euo pipefail

PACKAGES=(ruby ruby-actioncable ruby-activesupport puma)

have_everything() {
  command -v ruby >/dev/null 2>&1 \
    && command -v puma >/dev/null 2>&1 \
    && ruby -e 'require "action_cable"; require "active_support"; require "active_support/message_verifier"' >/dev/null 2>&1
}

if have_everything; then
  echo "install-ruby: ruby $(ruby -e 'print RUBY_VERSION'), actioncable $(ruby -e 'require "action_cable"; print ActionCable.version'), $(puma --version 2>/dev/null | head -n1) already installed"
  exit 0
fi

source "$(dirname "$0")/apt.sh"
apt_install install-ruby "${PACKAGES[@]}"

if ! have_everything; then
  echo "install-ruby: ruby, puma or action_cable still missing after installing ${PACKAGES[*]}" >&2
  exit 1
fi
echo "install-ruby: ruby $(ruby -e 'print RUBY_VERSION'), actioncable $(ruby -e 'require "action_cable"; print ActionCable.version'), $(puma --version | head -n1)"
