#!/usr/bin/env bash
# apt_install <tag> <package>...: installs the Debian packages that are not installed yet, as
# root or through sudo; refreshes the package lists once, only when apt does not know one of
# them. Sourced by the .ci/install-*.sh scripts; <tag> prefixes its messages.

apt_install() {
  local tag="$1"
  shift
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "$tag: must run as root or with sudo available" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive

  local package candidate
  for package in "$@"; do
    candidate="$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
      "${sudo[@]}" apt-get update
      break
    fi
  done

  local missing=()
  for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$package")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}
