#!/usr/bin/env bash
# Installs what culprit's tests and kernel demo need on a fresh Debian 12 machine.
# Safe to run again: it only installs what is missing.
set -euo pipefail
pkgs=(git gcc make flex bison bc libelf-dev libssl-dev cpio xz-utils ccache
      qemu-system-x86 busybox-static linux-source-6.1
      postgresql redis-server chromium chromium-driver)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "installing: ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
