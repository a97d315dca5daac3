"""``socialcredit policy check|list|show`` through the real entry point."""

from __future__ import annotations

import json

from policy_helpers import Run, Writer


def test_check_admissible_exits_0(cli: Run) -> None:
    code, out, err = cli("policy", "check", "jinan-dog")
    assert code == 0, out + err
    assert "SC004" in out
    # SC004 for volunteering; SC011 for the two deductions counting 24 months (minor records)
    assert "SC011" in out
    assert "0 error(s), 3 warning(s)" in out


def test_check_deny_warnings_exits_1(cli: Run) -> None:
    code, _, _ = cli("policy", "check", "jinan-dog", "--deny-warnings")
    assert code == 1
    code, _, _ = cli("policy", "check", "cn-common", "--deny-warnings")
    assert code == 0


def test_check_refused_exits_1_with_codes(cli: Run) -> None:
    code, out, err = cli("policy", "check", "unified-score")
    assert code == 1
    assert "SC010 error" in out and "help:" in out
    assert "Traceback" not in out + err


def test_check_json_shape(cli: Run) -> None:
    code, out, _ = cli(
        "policy", "check", "court-dishonest-debtors", "--profile", "eu-ai-act", "--format", "json"
    )
    assert code == 1
    data = json.loads(out)
    assert set(data) == {"findings", "errors", "warnings"}
    assert data["errors"] == len([f for f in data["findings"] if f["severity"] == "error"]) > 0
    assert data["warnings"] == len([f for f in data["findings"] if f["severity"] == "warning"])
    for f in data["findings"]:
        assert (
            {"code", "severity", "location", "message"}
            <= set(f)
            <= {
                "code",
                "severity",
                "location",
                "message",
                "help",
            }
        )
    assert {f["code"] for f in data["findings"] if f["severity"] == "error"} == {"SC009"}


def test_check_several_paths_merged(cli: Run, write: Writer) -> None:
    code, out, _ = cli("policy", "check", str(write()), "jinan-dog", "--format", "json")
    assert code == 0
    assert json.loads(out)["errors"] == 0


def test_check_malformed_file_is_a_finding_not_a_traceback(cli: Run, write: Writer) -> None:
    bad = write(text="this is = not [toml", name="bad.toml")
    code, out, err = cli("policy", "check", str(bad), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert [f["code"] for f in data["findings"]] == ["SC000"]
    assert data["findings"][0]["location"] == "bad.toml"
    assert "Traceback" not in err

    typo = write(replace={"duration_months": "duration_month"}, name="typo.toml")
    code, out, err = cli("policy", "check", str(typo))
    assert code == 1
    assert "SC000" in out and "typo.toml" in out and "duration_month" in out
    assert "Traceback" not in out + err


def test_check_unknown_profile_is_a_usage_error(cli: Run) -> None:
    code, _, err = cli("policy", "check", "cn-common", "--profile", "gdpr")
    assert code == 2
    assert "Traceback" not in err


def test_list(cli: Run) -> None:
    code, out, _ = cli("policy", "list", "--format", "json")
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)["catalogs"]}
    assert rows["unified-score"]["synthetic"] is True and rows["unified-score"]["errors"] > 0
    assert rows["court-dishonest-debtors"]["errors"] == 0
    assert rows["joint-punishment-2016"]["extends"] == ["court-dishonest-debtors"]
    code, out, _ = cli("policy", "list")
    assert code == 0 and "rongcheng" in out and "synthetic" in out


def test_show(cli: Run) -> None:
    code, out, _ = cli("policy", "show", "rongcheng", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["catalog"]["id"] == "rongcheng"
    assert any(s["id"] == "rongcheng.personal" for s in data["schemes"])
    assert any(d["id"] == "judicial" for d in data["domains"])  # merged with cn-common
    code, out, _ = cli("policy", "show", "court-dishonest-debtors")
    assert code == 0
    assert "court.judgment_debtor" in out and "restrict.flight" in out and "Fa Shi" in out


def test_show_prints_reviewed_exemptions_and_authority_kinds(cli: Run, write: Writer) -> None:
    code, out, _ = cli("policy", "show", "court-dishonest-debtors")
    assert code == 0
    plain = " ".join(out.split())
    assert "Reviewed exemptions" in plain
    assert "measures[restrict.private_school]" in plain
    assert "socialcredit catalog maintainers" in plain and "2026-12-01" in plain
    assert "never to the child" in plain  # the reason
    assert "administrative agency" in plain and "private operator" in plain
    code, out, _ = cli("policy", "show", "court-dishonest-debtors", "--format", "json")
    (exemption,) = json.loads(out)["exemptions"]
    assert exemption["reviewed_by"] == "socialcredit catalog maintainers"
    assert exemption["subjects"] == ["association"]
    # a user's catalog: its own exemption, with its reviewer, and an authority with no kind
    path = write(
        replace={'title = "Dishonest debtors"': 'title = "Debtors (family firms)"'},
        extra='\n[[authorities]]\nid = "x.office"\ntitle = "Office"\n'
        '\n[[exemptions]]\nsection = "lists"\nid = "debtors"\nsubjects = ["association"]\n'
        'reviewed_by = "J. Doe, data protection officer"\nreviewed_on = 2026-11-30\n'
        'reason = "family firms are companies, not families"\n',
    )
    code, out, _ = cli("policy", "show", str(path))
    plain = " ".join(out.split())
    assert code == 0 and "J. Doe, data protection officer" in plain and "(no kind)" in plain
    code, out, _ = cli("policy", "check", str(path))
    assert code == 0, out


def test_show_unknown_catalog(cli: Run) -> None:
    code, _, err = cli("policy", "show", "rongchen")
    assert code == 2
    assert "did you mean 'rongcheng'" in err and "Traceback" not in err
