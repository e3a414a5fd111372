"""``ServingSettings``: one pydantic-settings class for the service.

Values come from the command line, then ``PINGJIA_*`` environment variables,
then the defaults below.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from model.encoder import default_model_dir


class ServingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PINGJIA_", extra="ignore")

    model_path: Path = Field(default_factory=default_model_dir)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    label_set_version: str | None = Field(
        None,
        description="label-set version to answer in; a model trained on another "
        "is refused unless a migration leads from its version to this one. "
        "None: the model's own",
    )

    # limits: a request past them gets a 413 or 422 naming the limit
    max_comments: int = Field(256, ge=1, description="comments per request")
    max_chars: int = Field(5000, ge=1, description="characters per comment")
    max_body_bytes: int = Field(2_000_000, ge=1024, description="request body size")

    # model execution
    threads: int = Field(0, ge=0, description="torch CPU threads, 0 for all cores")
    quantize: bool = Field(False, description="int8 dynamic quantisation of Linear")
    batch_size: int = Field(64, ge=1, description="most comments per model call")
    batch_wait_ms: float = Field(
        4.0, ge=0, description="how long a lone request waits for company"
    )
