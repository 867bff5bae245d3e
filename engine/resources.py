"""Where the files shipped beside the code (`data/...`) live, from source or a frozen binary.

From a source tree (or an editable install) they sit next to the packages, in the repository
root. In the single-file PyInstaller binary (`make binary`, `packaging/stickerbot.spec`) that
tree does not exist: the bootloader unpacks the bundled files into a temporary folder, names it
in `sys._MEIPASS` and sets `sys.frozen`, so paths are resolved against that folder instead.
"""

from __future__ import annotations

import sys
from pathlib import Path, PurePath

SOURCE_ROOT = Path(__file__).resolve().parent.parent  # the folder holding engine/ and data/


def bundle_root() -> Path:
    """The folder that `data/` is relative to: the unpacked bundle when frozen, else the repo."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle)
    return SOURCE_ROOT


def resource_path(relative: str | PurePath) -> Path:
    """The absolute path of a bundled file given relative to the repository root,
    e.g. `resource_path("data/emoji/keywords.jsonl.gz")`."""
    relative = PurePath(relative)
    if relative.is_absolute():
        raise ValueError(f"{relative}: a resource path must be relative to the bundle root")
    return bundle_root() / relative
