"""`make bench` still runs end to end (tiny sizes). Its figures are read by people, never asserted on here."""

from __future__ import annotations

from bench import slack, store


def test_slack_bench_answers_every_request_and_opens_every_modal():
    result = slack.run(requests=40, rounds=1, concurrency=5)
    assert result["all_answered"]
    apps = result["apps"]
    assert set(apps) == set(slack.KINDS)
    assert apps["ours"]["statuses"] == {"200": 40} and apps["ours"]["modals"] == 40
    assert apps["bare_open"]["modals"] == 40 and apps["bare"]["modals"] is None
    assert {"ratio", "ratio_ack_only", "ceiling_ack_only"} <= set(result)
    text = slack.report(result)
    assert "ours / bare bolt answering the same way" in text and "only acks" in text


def test_store_bench_reports_a_median_per_size(tmp_path):
    result = store.run(sizes=(10, 30), writes=5, directory=str(tmp_path))
    assert set(result["sizes"]) == {10, 30}
    assert all(row["median_ms"] > 0 for row in result["sizes"].values())
    assert "30" in store.report(result)


def test_postgres_bench_reports_writes_and_the_summary():
    from postgres_support import database_url

    from bench import postgres

    result = postgres.run(sizes=(20, 60), url=database_url())
    assert set(result["sizes"]) == {20, 60} and result["summary"]["read"] > 0
    assert "weekly summary over 60 cases" in postgres.report(result)


def test_replicas_bench_measures_one_and_two_replicas_and_the_busy_acks(monkeypatch):
    from postgres_support import database_url

    from bench import replicas

    monkeypatch.setattr(replicas, "REQUESTS", 40)
    monkeypatch.setattr(replicas, "BUSY_REQUESTS", 80)
    result = replicas.run(cases=30, url=database_url())
    assert result["one"]["rps"] > 0 and result["two"]["rps"] > 0 and result["busy"]["max_ms"] > 0
    assert result["embedded"]["busy"]["max_ms"] > 0  # (and one process on the embedded store)
    text = replicas.report(result)
    assert "two replicas" in text and "Embedded store (TinyDB, one process)" in text
