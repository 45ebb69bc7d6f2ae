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

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "install-ruby: must run as root or with sudo available" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Refresh the package lists once, only when apt does not know the packages yet.
needs_update=false
for package in "${PACKAGES[@]}"; do
  candidate="$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
  if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
    needs_update=true
    break
  fi
done
if [ "$needs_update" = true ]; then
  "${SUDO[@]}" apt-get update
fi

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ! have_everything; then
  echo "install-ruby: ruby, puma or action_cable still missing after installing ${PACKAGES[*]}" >&2
  exit 1
fi
echo "install-ruby: ruby $(ruby -e 'print RUBY_VERSION'), actioncable $(ruby -e 'require "action_cable"; print ActionCable.version'), $(puma --version | head -n1)"
