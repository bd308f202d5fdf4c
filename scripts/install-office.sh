#!/usr/bin/env bash
# Installs the headless office suite the tests use to recalculate and render outputs.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  libreoffice-calc libreoffice-impress libreoffice-writer poppler-utils >/dev/null
