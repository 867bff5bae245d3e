"""Engine settings: the `[engine]` table of bot.toml. Defaults run offline on the bundled models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EngineConfig(BaseModel):
    """How the engine recalls and ranks; every field has a working offline default."""

    model_config = ConfigDict(extra="forbid")

    text_model: str = Field(
        default="use-multilingual-v3",
        description="'use-multilingual-v3' (bundled) or a folder made by `stickerbot export model`",
    )
    clip_model: str | None = Field(
        default=None, description="folder of an exported CLIP model; enables text-to-image recall"
    )
    nsfw_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    safe_mode_in_groups: bool = True
    recall_depth: int = Field(default=200, ge=50, le=2000, description="candidates per channel")
    hnsw_ef: int = Field(default=128, ge=16, le=1024)
