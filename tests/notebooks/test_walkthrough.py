"""The notebook walkthrough runs top to bottom with a real model on real comments."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "walkthrough.ipynb"


@pytest.fixture(scope="module")
def executed(small_real_model, corpus, tmp_path_factory, monkeypatch_module):
    work = tmp_path_factory.mktemp("walkthrough")
    monkeypatch_module.setenv("PINGJIA_NOTEBOOK_MODEL", str(small_real_model))
    monkeypatch_module.setenv("PINGJIA_NOTEBOOK_COMMENTS", "1500")
    monkeypatch_module.setenv("PINGJIA_NOTEBOOK_WORKDIR", str(work))

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {}}
    ).execute(cwd=str(NOTEBOOK.parents[1]))
    return notebook, work


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _text(notebook) -> str:
    return "\n".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)

    assert all(
        not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"
    ), "clear the outputs: they hold comment texts, which stay in shared/data"


def test_walkthrough_goes_from_raw_comments_to_an_agenda(executed):
    notebook, work = executed
    printed = _text(notebook)

    assert "1500 comments;" in printed
    assert "1500 labelled comments in the store" in printed
    assert re.search(r"again: +\{[^}]*'unchanged': 1500", printed), printed
    page = (work / "agenda.html").read_text("utf-8")
    assert "data:image/png;base64," in page and "Synthetic demo data" in page
    assert "http://" not in page and "https://" not in page
    assert (work / "agenda.md").read_text("utf-8").startswith("#")


def test_walkthrough_reports_read_the_store_it_wrote(executed):
    from serving.store import FeedbackStore

    _, work = executed
    with FeedbackStore(f"sqlite:///{work / 'feedback.db'}") as store:
        records = list(store.records())

    assert len(records) == 1500
    assert all(r["synthetic"] is True for r in records)
    assert len({r["agent_id"] for r in records}) > 10
    json.dumps(records)  # what the reports read is plain JSON
