"""Cost file upload on the Cost Attribution page: finance/admin import, others cannot, errors shown."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.access import Role, User
from app.cost_upload import import_uploaded_costs
from app.users import add_user
from models.db import Store
from models.errors import PermissionDeniedError
from tests.app.conftest import MAIN, open_app, texts, use_store
from tests.models.test_focus_sample import SAMPLE, file_totals

KEYS = ("tenant", "product_line", "workflow")


@pytest.fixture
def writable(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The session's (emptied) store as the app's store, open access (admin)."""
    yield from use_store(store, monkeypatch)


def stored(store: Store) -> tuple[int, Decimal]:
    _, rows = store.read_only("SELECT count(), sum(BilledCost) FROM cost_records_current")
    return int(rows[0][0]), Decimal(rows[0][1])


def codes(app: AppTest) -> str:
    return "\n".join(str(c.value) for c in app.code)


def test_admin_uploads_the_official_sample(writable: Store) -> None:
    app = open_app("costs")
    assert not app.exception
    assert "No cost records" in texts(app)  # the upload is offered on an empty store too
    app.file_uploader(key="cost_upload").upload("focus_sample.csv", SAMPLE.read_bytes(), "text/csv")
    app.run()
    app.button(key="cost_upload_go").click().run()
    assert not app.exception
    assert "Imported: 1,000 row(s) stored." in texts(app)
    summary = codes(app)
    assert "FOCUS version detected: 1.0" in summary and "columns ignored: Id" in summary
    assert "ContractedCost: 7 null value(s)" in summary
    rows, billed, _ = file_totals(SAMPLE)
    count, total = stored(writable)
    assert count == rows and total.quantize(Decimal("0.01")) == billed.quantize(Decimal("0.01"))
    assert app.get("status")  # progress shown in an st.status while it loaded


def test_a_bad_file_shows_its_errors_and_imports_nothing(writable: Store) -> None:
    bad = SAMPLE.read_text(encoding="utf-8").splitlines()
    bad[2] = bad[2].replace("0.00001605990", "lots", 1)
    app = open_app("costs")
    app.file_uploader(key="cost_upload").upload("bad.csv", "\n".join(bad).encode(), "text/csv")
    app.run()
    app.button(key="cost_upload_go").click().run()
    assert not app.exception
    assert "The file was refused; nothing was imported." in texts(app)
    assert "line 3: BilledCost 'lots' is not a number" in codes(app)
    assert stored(writable)[0] == 0

    app.checkbox(key="cost_upload_skip_bad").check().run()
    app.button(key="cost_upload_go").click().run()
    assert "Imported: 999 row(s) stored." in texts(app)
    assert "first bad rows: line 3" in codes(app)


@pytest.fixture
def executive(
    writable: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[AppTest]:
    path = tmp_path / "users.toml"
    add_user(path, "eve", "executive", "eve-password")
    monkeypatch.setenv("FLOWMETER_USERS_FILE", str(path))
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    app.text_input[0].input("eve")
    app.text_input[1].input("eve-password")
    app.button[0].click().run()
    app.switch_page("views/costs.py").run()
    yield app


def test_an_executive_sees_no_upload_and_cannot_import(executive: AppTest, writable: Store) -> None:
    assert not executive.exception
    assert not executive.get("file_uploader")
    assert "Your role (executive) reads costs; finance and admin import them." in texts(executive)
    files = [("f.csv", SAMPLE.read_bytes())]
    for user in (User("eve", Role.EXECUTIVE), User("ed", Role.ENGINEER)):
        with pytest.raises(PermissionDeniedError, match="may not costs import"):
            import_uploaded_costs(writable, user, files, tag_keys=KEYS)
    with pytest.raises(PermissionDeniedError, match="only an unrestricted"):
        import_uploaded_costs(writable, User("fay", Role.FINANCE, ("a",)), files, tag_keys=KEYS)
    assert stored(writable)[0] == 0
    done = import_uploaded_costs(writable, User("fin", Role.FINANCE), files, tag_keys=KEYS)
    assert done.rows == 1000
