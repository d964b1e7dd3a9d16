#!/usr/bin/env bash
# Installs the Debian packages the trainer and the tests need: OpenBLAS (without it Debian's
# PyTorch falls back to the reference BLAS, ~35x slower), PyTorch 1.13 (CPU) and onnx for
# /usr/bin/python3, pytest and flake8 (the trainer's tests and lint), WordNet (offline synonyms for augmentation), promtool (metrics and
# rule checks) and redis-server (job tests), and the packages whose manual pages make the
# man-page dataset (PACKAGES in trainer/distillery_trainer/datasets/manpages.py; a test keeps the
# two lists in step), and the packages whose text makes the pre-training corpus (CORPUS_PACKAGES in
# trainer/distillery_trainer/datasets/corpus.py, the man pages aside; a test keeps them in step too). Idempotent: does nothing when all are present.
set -euo pipefail
packages=(libopenblas0-pthread python3-torch python3-onnx python3-pytest python3-flake8 python3-numpy wordnet prometheus redis-server)
manpage_packages=(manpages manpages-dev coreutils util-linux mount procps findutils grep sed tar gzip diffutils bash passwd login
  dpkg apt debianutils debconf e2fsprogs iproute2 net-tools man-db groff-base psmisc less hostname ncurses-bin libpam-modules
  libpam-runtime openssh-client systemd openssl git-man perl)
corpus_packages=(wordnet-base dict-gcide dict-foldoc python3.11-doc debian-reference-en debian-handbook)
packages+=("${manpage_packages[@]}" "${corpus_packages[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
