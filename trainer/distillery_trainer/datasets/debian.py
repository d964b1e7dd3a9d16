"""What dpkg knows about an installed Debian package: its version, its files, its licenses."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from typing import List

from ..errors import InvalidInputError

DOC_ROOT = "/usr/share/doc"


@dataclass
class InstalledPackage:
    name: str
    version: str
    files: List[str]
    # Short license names of the DEP-5 copyright file; empty when it is not machine-readable.
    licenses: List[str] = field(default_factory=list)
    copyright_file: str = ""


def _dpkg(args: List[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise InvalidInputError(f"{args[0]} not found: reading Debian packages needs dpkg (a Debian or Ubuntu system)") from exc


def copyright_licenses(path: str) -> List[str]:
    """Distinct short names of the `License:` fields of a machine-readable (DEP-5) Debian
    copyright file, in the order they first appear; [] when there are none or no file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    seen: List[str] = []
    for match in re.finditer(r"^License:[ \t]*(\S[^\n]*)$", text, re.M):
        name = match.group(1).strip()
        if name not in seen:
            seen.append(name)
    return seen


def installed_package(name: str) -> InstalledPackage:
    """The package's version and file list (dpkg -L). Not installed: bad input naming it."""
    status = _dpkg(["dpkg-query", "-W", "-f=${Version}\t${db:Status-Abbrev}", name])
    version, _, abbrev = status.stdout.partition("\t")
    if status.returncode != 0 or not abbrev.startswith("ii"):
        raise InvalidInputError(
            f"Debian package {name!r} is not installed; install it (bash scripts/install-system-deps.sh does) and run again"
        )
    listing = _dpkg(["dpkg", "-L", name])
    if listing.returncode != 0:
        raise InvalidInputError(f"dpkg -L {name} failed: {listing.stderr.strip()}")
    copyright_file = os.path.join(DOC_ROOT, name, "copyright")
    return InstalledPackage(
        name=name,
        version=version,
        files=[line for line in listing.stdout.split("\n") if line.startswith("/")],
        licenses=copyright_licenses(copyright_file),
        copyright_file=copyright_file,
    )
