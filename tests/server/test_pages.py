"""The pages a person opens (/, /docs, /redoc) show the project's name as text: a name
with quotes and markup ran as script on / and /docs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.server.conftest import Served, copy_clinic

NAME = 'clinic" onload="window.x=1" x="</title><script>window.y=1</script>'


@pytest.fixture
def clinic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_clinic(tmp_path_factory.mktemp("named"))
    config = yaml.safe_load((root / "baton.yml").read_text())
    config["name"] = NAME
    (root / "baton.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return root


@pytest.mark.parametrize("path", ["/", "/docs", "/redoc"])
async def test_the_projects_name_is_escaped_on_every_page(served: Served, path: str) -> None:
    page = (await served.client.get(path)).text
    assert "<script>window.y=1" not in page and 'onload="window.x=1"' not in page
    assert "&lt;/title&gt;&lt;script&gt;" in page
