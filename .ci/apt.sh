#!/usr/bin/env bash
# apt_install <tag> <package>...: installs the Debian packages that are not installed yet, as
# root or through sudo; refreshes the package lists once, only when apt does not know one of
# them. Sourced by the .ci/install-*.sh scripts; <tag> prefixes its messages.

source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

apt_install() {
  local tag="$1"
  shift
  local missing=()
  mapfile -t missing < <(apt_missing "$@")
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi

  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "$tag: installing ${missing[*]} needs root, and sudo is not installed; as root, run:" >&2
      echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
      return 1
    fi
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive

  local package candidate
  for package in "${missing[@]}"; do
    candidate="$(apt-cache policy "$package" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
    if [ -z "$candidate" ] || [ "$candidate" = "(none)" ]; then
      "${sudo[@]}" apt-get update
      break
    fi
  done

  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}
