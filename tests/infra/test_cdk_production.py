"""Production readiness: room to grow, WAF managed rules, alarms, dashboard, flow logs,
and the public yardsticks (cdk-nag runs in every synth of the session; cfn-lint here)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import wiring
from infra.cdk.inkwell_infra import functions as functions_module
from infra.cdk.inkwell_infra.paths import FUNCTIONS_DIR
from tests.infra.conftest import Synthesized, synthesize
from tests.infra.helpers import only

pytestmark = pytest.mark.xdist_group("cdk")

MAX_TEMPLATE_RESOURCES = 300  # 60 % of CloudFormation's 500
EXTRA_ROUTES = 20


def extra_routes(domain: str, count: int) -> tuple[wiring.Route, ...]:
    """``count`` more routes in ``domain``, each on a new path (a resource, a preflight,
    a method, a permission, a function, its log group and its alarm)."""
    return tuple(
        wiring.Route(
            name=f"{domain}-extra-{i}",
            handler=f"{domain}.extra_{i}.handler",
            method="POST",
            path=f"{wiring.API_PREFIX}/extra-{domain}-{i}/items",
            auth="required",
            access=wiring.DB_AND_EVENTS,
            tags=(domain,),
        )
        for i in range(count)
    )


def test_a_new_domain_and_twenty_more_routes_stay_well_within_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty more routes in users, and a fourth database domain with its own routes,
    maintenance function and outbox relay: the wiring stays the one source (the additions
    only exist in it), and every template stays under 60 % of the limit."""
    domain = "reviews"
    functions_dir = tmp_path / "functions"
    shutil.copytree(
        FUNCTIONS_DIR, functions_dir, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    (functions_dir / domain).mkdir()
    (functions_dir / domain / "__init__.py").write_text("")
    monkeypatch.setattr(functions_module, "FUNCTIONS_DIR", functions_dir)
    relay = wiring.Scheduled(
        name=f"{domain}-outbox-relay",
        handler=f"{domain}.relay.handler",
        access=wiring.DB_AND_EVENTS,
        timeout_s=60,
    )
    monkeypatch.setattr(wiring, "DATABASE_DOMAINS", (*wiring.DATABASE_DOMAINS, domain))
    monkeypatch.setattr(
        wiring,
        "ROUTES",
        (*wiring.ROUTES, *extra_routes("users", EXTRA_ROUTES), *extra_routes(domain, 10)),
    )
    monkeypatch.setattr(
        wiring,
        "MAINTENANCE",
        (
            *wiring.MAINTENANCE,
            wiring.Function(
                name=f"{domain}-maintenance",
                handler=f"{domain}.maintenance.handler",
                access=wiring.DB,
                timeout_s=120,
            ),
        ),
    )
    monkeypatch.setattr(wiring, "RELAYS", (*wiring.RELAYS, relay))
    monkeypatch.setattr(wiring, "SCHEDULED", (*wiring.SCHEDULED, relay))
    grown = synthesize(tmp_path / "cdk.out")
    counts = {path: len(t["Resources"]) for path, t in grown.templates.items()}
    assert "inkwell-dev/Reviews" in counts
    over = {path: count for path, count in counts.items() if count > MAX_TEMPLATE_RESOURCES}
    assert not over, f"over 60 % of the limit: {over} (all: {sorted(counts.items())})"
    names = {
        v["Properties"].get("FunctionName") for v in grown.of_type("AWS::Lambda::Function").values()
    }
    assert {
        f"inkwell-dev-users-extra-{EXTRA_ROUTES - 1}",
        "inkwell-dev-reviews-extra-9",
        "inkwell-dev-reviews-maintenance",
    } <= names
    instances = {v["Properties"]["DBName"] for v in grown.of_type("AWS::RDS::DBInstance").values()}
    assert instances == set(wiring.DATABASE_DOMAINS)


def test_cfn_lint_passes_every_synthesized_template(
    synth: Synthesized, prod_synth: Synthesized
) -> None:
    templates = sorted(
        str(p) for s in (synth, prod_synth) for p in s.outdir.glob("*.template.json")
    )
    assert len(templates) == 2 * (len(wiring.DATABASE_DOMAINS) + 3)
    lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(lint), *templates],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cdk_nag_checked_the_session_synths(synth: Synthesized) -> None:
    """create_app adds both packs; a failing pack would have failed the synth fixture."""
    report = synth.outdir / "validation-report.json"
    assert not report.exists() or '"failure"' not in report.read_text()


def test_waf_has_the_aws_managed_rule_groups_and_lets_long_posts_through(
    synth: Synthesized,
) -> None:
    _, acl = only(synth.of_type("AWS::WAFv2::WebACL"))
    groups = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]: r
        for r in acl["Properties"]["Rules"]
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert {
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    } <= set(groups)
    common = groups["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    # posts carry up to 100 KB: the 8 KB body rule only counts
    assert common["RuleActionOverrides"] == [
        {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
    ]
    bad = groups["AWSManagedRulesKnownBadInputsRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert "RuleActionOverrides" not in bad
    for rule in groups.values():
        assert rule["OverrideAction"] == {"None": {}}


def alarm_metrics(synth: Synthesized) -> dict[str, set[str]]:
    """Metric name -> the namespaces of the alarms watching it (math alarms included)."""
    found: dict[str, set[str]] = {}
    for alarm in synth.of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if "MetricName" in props:
            found.setdefault(props["MetricName"], set()).add(props["Namespace"])
        for query in props.get("Metrics", []):
            stat = query.get("MetricStat")
            if stat:
                metric = stat["Metric"]
                found.setdefault(metric["MetricName"], set()).add(metric["Namespace"])
    return found


def test_the_alarms_the_deploy_guide_describes_exist(synth: Synthesized) -> None:
    metrics = alarm_metrics(synth)
    for metric, namespace in (
        ("5XXError", "AWS/ApiGateway"),
        ("Latency", "AWS/ApiGateway"),
        ("Throttles", "AWS/Lambda"),
        ("Errors", "AWS/Lambda"),
        ("CPUUtilization", "AWS/RDS"),
        ("FreeStorageSpace", "AWS/RDS"),
        ("DatabaseConnections", "AWS/RDS"),
        ("DatabaseConnectionsBorrowLatency", "AWS/RDS"),
        ("DatabaseConnectionsCurrentlySessionPinned", "AWS/RDS"),
        ("ApproximateNumberOfMessagesVisible", "AWS/SQS"),
        ("OutboxOldestUnpublishedAgeSeconds", "Inkwell"),
    ):
        assert namespace in metrics.get(metric, set()), metric
    # throttles: every function of every domain is in one of its domain's alarms
    watched = set()
    for alarm in synth.of_type("AWS::CloudWatch::Alarm").values():
        for query in alarm["Properties"].get("Metrics", []):
            metric = query.get("MetricStat", {}).get("Metric", {})
            if metric.get("MetricName") == "Throttles":
                watched |= {d["Value"] for d in metric["Dimensions"]}
        assert len(alarm["Properties"].get("Metrics", [])) <= 11  # 10 metrics + the sum
    domain_functions = {
        f"inkwell-dev-{f.name}"
        for f in wiring.all_functions()
        if f.domain in wiring.DATABASE_DOMAINS
    }
    assert domain_functions <= watched


def test_one_dashboard_per_stage(synth: Synthesized, prod_synth: Synthesized) -> None:
    for synthesized, name in ((synth, "inkwell-dev"), (prod_synth, "inkwell-prod")):
        _, board = only(synthesized.of_type("AWS::CloudWatch::Dashboard"))
        assert board["Properties"]["DashboardName"] == name
        body = str(board["Properties"]["DashboardBody"])
        for domain in wiring.DATABASE_DOMAINS:
            assert f"{domain}: errors and throttles" in body


def test_flow_logs_in_prod_only_by_default(synth: Synthesized, prod_synth: Synthesized) -> None:
    assert not synth.of_type("AWS::EC2::FlowLog")
    _, flow_log = only(prod_synth.of_type("AWS::EC2::FlowLog"))
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    assert flow_log["Properties"]["ResourceType"] == "VPC"


def test_functions_run_on_the_configured_runtime(synth: Synthesized) -> None:
    runtimes = {
        (v["Properties"]["Runtime"], tuple(v["Properties"]["Architectures"]))
        for v in synth.of_type("AWS::Lambda::Function").values()
        if str(v["Properties"].get("FunctionName", "")).startswith("inkwell-dev-")
    }
    assert runtimes == {("python3.13", ("arm64",))}
