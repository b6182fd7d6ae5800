import pytest
from sqlalchemy.exc import SQLAlchemyError

from nsr_bench.resolution import resolve_cell
from nsr_bench.results.store import ResultsStore, StoreError


def cell():
    return resolve_cell("digits_cyclic", "fresh", seed=0, device="cpu", test=True)


def documents():
    return {"manifest": {"seed": 0}, "summary": {"acc": 0.5, "bwt": float("nan")}}


def test_a_failed_write_leaves_nothing(tmp_path):
    store = ResultsStore(tmp_path)
    run = store.start_run(cell().hash)
    with pytest.raises(SQLAlchemyError):
        store.write(cell(), documents(), [{"mode": "oracle", "experience": 0, "task": 0, "acc": 0.5}],
                    [{"experience": 0, "no_such_column": 1}], None, run_id=run)
    assert store.table("cells") == [] and store.table("accuracy") == [] and store.table("curves") == []
    assert not store.done(cell().hash)


def test_finished_cells_are_never_overwritten_unless_forced(tmp_path):
    store = ResultsStore(tmp_path)
    rows = [{"mode": "oracle", "experience": 0, "task": 0, "acc": 0.5}]
    assert store.write(cell(), documents(), rows, [], b"bank")
    first = store.table("cells")
    assert store.summary(cell().hash) == {"acc": 0.5, "bwt": None}
    assert not store.write(cell(), {"manifest": {}, "summary": {"acc": 0.9}}, rows, [], None)
    assert store.table("cells") == first and store.bank_bytes(cell().hash) == b"bank"
    assert store.write(cell(), {"manifest": {}, "summary": {"acc": 0.9}}, rows, [], None, force=True)
    assert store.summary(cell().hash)["acc"] == 0.9 and store.bank_bytes(cell().hash) is None
    assert len(store.table("accuracy")) == 1


def test_unreachable_or_foreign_stores_are_clear_errors(tmp_path):
    with pytest.raises(StoreError, match="cannot open the results store"):
        ResultsStore("postgresql+psycopg://nobody@127.0.0.1:1/none")
    ResultsStore(tmp_path)
    import sqlite3

    with sqlite3.connect(tmp_path / "nsr.db") as conn:
        conn.execute("UPDATE nsr_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema 99"):
        ResultsStore(tmp_path)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "nsr.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        ResultsStore(tmp_path / "junk")


def test_a_cell_stored_by_another_process_in_between_is_a_duplicate_not_an_error(tmp_path, monkeypatch):
    """The race of two writers: both see the cell missing, the second insert hits the primary key."""
    store, other = ResultsStore(tmp_path), ResultsStore(tmp_path)
    rows = [{"mode": "oracle", "experience": 0, "task": 0, "acc": 0.5}]
    run = store.start_run(cell().hash)
    assert other.write(cell(), documents(), rows, [], None)  # the other process stores it first
    monkeypatch.setattr(store, "_stored", lambda conn, h: False)  # our check ran before that insert
    assert store.write(cell(), documents(), rows, [], None, run_id=run) is False
    assert len(store.table("cells")) == 1 and len(store.table("accuracy")) == 1
    assert [r["status"] for r in store.table("runs")] == ["duplicate"]
