"""``ServingSettings``: one pydantic-settings class for the service.

Values come from the command line, then ``PINGJIA_*`` environment variables,
then the defaults below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from model.encoder import default_model_dir
from serving.store import default_database_url
from serving.store.keys import check_digests


class ServingSettings(BaseSettings):
    # hide_input_in_errors: a plaintext API key set by mistake must not be logged
    model_config = SettingsConfigDict(
        env_prefix="PINGJIA_", extra="ignore", hide_input_in_errors=True
    )

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
    precision: Literal["auto", "fp32", "bf16", "int8"] = Field(
        "auto",
        description="the encoder's arithmetic: auto is bf16 where the CPU has "
        "AVX-512 BF16 or AMX (same figures as fp32), else fp32; int8 is dynamic "
        "quantisation (faster, scores move a little)",
    )
    # 256: on 2 cores a call of 256 ran ~1.5x the comments/s of one of 64
    # (longer length-sorted runs, less padding); a lone request is not held
    batch_size: int = Field(256, ge=1, description="most comments per model call")
    batch_wait_ms: float = Field(
        4.0,
        ge=0,
        description="how long a request waits for company while requests come "
        "together; a client alone is not held",
    )

    # feedback store (POST /v1/feedback)
    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL of the feedback store: a SQLite file by "
        "default, or postgresql+psycopg://user:pw@host:5432/db",
    )
    store_timezone: str = Field(
        "UTC", description="time zone of created_at values sent without an offset"
    )
    # NoDecode: the variable is a comma-separated list, not JSON
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="SHA-256 hex digests of the keys allowed to write, "
        "comma-separated; make one with `pingjia store hash-key`",
    )
    api_key_file: Path | None = Field(
        None, description="a file of plaintext keys allowed to write, one a line"
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_digests(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        return check_digests(value) if isinstance(value, list) else value
