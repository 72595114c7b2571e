"""The CI dependency audit's rule: a reported vulnerability fails; an audit that could
not be done is said so and does not fail (see .ci/audit-dependencies)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "pip_audit_verdict.py"
spec = importlib.util.spec_from_file_location("pip_audit_verdict", SCRIPT)
assert spec is not None and spec.loader is not None
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)


def _report(tmp_path: Path, deps: list[dict[str, object]]) -> str:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"dependencies": deps, "fixes": []}), encoding="utf-8")
    return str(path)


def test_a_vulnerability_fails(tmp_path: Path) -> None:
    report = _report(tmp_path, [
        {"name": "jinja2", "version": "3.1.3", "vulns": [
            {"id": "GHSA-h75v-3vvj-5mfj", "fix_versions": ["3.1.4"]}]},
        {"name": "numpy", "version": "2.3.0", "vulns": []},
    ])  # fmt: skip
    code, lines = module.verdict(report, "requirements.lock")
    assert code == 1
    assert "VULNERABLE jinja2 3.1.3: GHSA-h75v-3vvj-5mfj (fixed in 3.1.4)" in lines
    assert lines[-1].endswith("2 audited, 0 not known to the service, 1 vulnerable")


def test_a_clean_audit_passes(tmp_path: Path) -> None:
    report = _report(tmp_path, [{"name": "numpy", "version": "2.3.0", "vulns": []}])
    expected = "dependency audit x.lock: 1 audited, 0 not known to the service, 0 vulnerable"
    assert module.verdict(report, "x.lock") == (0, [expected])


def test_an_unreachable_service_is_not_done_not_passed(tmp_path: Path) -> None:
    code, lines = module.verdict(str(tmp_path / "missing.json"), "x.lock")
    assert code == 0 and "NOT DONE" in lines[0] and "unreachable" in lines[0]
    report = _report(tmp_path, [{"name": "numpy", "version": "2.3.0",
                                 "skip_reason": "Dependency not found on PyPI"}])  # fmt: skip
    code, lines = module.verdict(report, "x.lock")
    assert code == 0 and "NOT DONE" in lines[0]
