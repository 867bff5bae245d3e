"""Where a model to export comes from: a folder here, or the Hugging Face hub, which is asked
once, quickly, before any loading starts.

With the hub out of reach, transformers asks it for each file five more times, logging every
retry, and gives up after about 75 s with a message of two lines. A source that is no folder
here is refused at once instead, in one line that says what to do.
"""

from __future__ import annotations

import re
from pathlib import Path

from huggingface_hub import constants, get_session

from export.onnx_folder import ExportError

HUB_PROBE_SECONDS = 5.0
HUB_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")  # "name" or "owner/name"


def check_source(source: str) -> None:
    """Raise ExportError unless `source` is a path here or the hub can be asked for it."""
    if Path(source).expanduser().exists() or constants.HF_HUB_OFFLINE:
        return  # offline mode reads the hub's cache, and fails at once when it lacks the model
    if not HUB_ID.fullmatch(source):
        raise ExportError(f"{source}: no such folder")
    endpoint = constants.ENDPOINT
    try:
        get_session().head(endpoint, timeout=HUB_PROBE_SECONDS)
    except Exception as error:  # requests' or httpx's errors, by huggingface_hub's version
        raise ExportError(
            f"{source} is no folder here and {endpoint} cannot be reached "
            f"({type(error).__name__}): give the model's folder, or set HF_HUB_OFFLINE=1 "
            "to export a copy the hub's cache holds"
        ) from None
