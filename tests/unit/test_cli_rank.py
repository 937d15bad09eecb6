"""``govkpi rank`` and ``govkpi report`` on the command line, before anything runs: their help
and the refusal of a methodology that has no file."""

from __future__ import annotations

import pytest

from govkpi.cli import build_parser, main


def test_rank_help_says_what_it_does(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["rank", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for words in ("--year Y", "--methodology NAME", "default binh_dinh_2017", "tag:ranking",
                  "raw, staging, marts, ranking", "append-only", "--skip-build",
                  "govkpi rank --year 2017"):
        assert words in text, words


def test_report_is_a_subcommand():
    args = build_parser().parse_args(["report", "--year", "2017"])
    assert (args.year, args.methodology, args.lang, args.out) == (
        2017, "binh_dinh_2017", "vi", None)


def test_an_unknown_methodology_is_refused_before_the_warehouse(capsys, monkeypatch):
    monkeypatch.setenv("GOVKPI_WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["rank", "--year", "2017", "--methodology", "binh_dinh_2071"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown methodology 'binh_dinh_2071': choose one of ")
    assert "binh_dinh_2017" in err
