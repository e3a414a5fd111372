"""The ``pingjia`` command: composes the CLI of each package."""

from __future__ import annotations

import logging
import sys

import typer

from labels.cli import app as labels_app
from model.cli import app as encoder_app
from serving.cli import classify_command, relabel_command, serve_command
from serving.reports.cli import app as report_app
from serving.store.cli import ingest_command, store_app
from training.cli import corpus_app, evaluate_command, train_command
from training.quality_cli import suspects_command


class _Command(typer.Typer):
    """The ``pingjia`` app: a user's mistake ends in one line, not a traceback.

    Bad paths, values and database URLs surface as ``OSError``,
    ``ValueError`` (our own input errors included) or SQLAlchemy errors,
    whose messages say what was wrong; ``-v`` shows the traceback too.
    """

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:
            if not _is_user_error(error) or logging.getLogger().level <= 10:
                raise
            print(f"error: {error}", file=sys.stderr)
            print("(run with `pingjia -v ...` to see where)", file=sys.stderr)
            sys.exit(2)


def _is_user_error(error: Exception) -> bool:
    return isinstance(error, OSError | ValueError) or type(error).__module__.startswith(
        "sqlalchemy"
    )


app = _Command(
    help="pingjia 评价: what Chinese customer feedback is about.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(encoder_app, name="encoder")
app.add_typer(labels_app, name="labels")
labels_app.command("suspects")(suspects_command)  # needs the corpus: training/
app.add_typer(corpus_app, name="corpus")
app.add_typer(report_app, name="report")
app.command("train")(train_command)
app.command("evaluate")(evaluate_command)
app.command("classify")(classify_command)
app.command("serve")(serve_command)
app.command("relabel")(relabel_command)
app.command("ingest")(ingest_command)
app.add_typer(store_app, name="store")


@app.callback()
def main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Set up logging once, here: library modules only get their loggers."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


if __name__ == "__main__":
    app()
