"""Reads a pip-audit JSON report: exit 1 on a known vulnerability; an audit that could
not be done (no report, or no package known to the service) is said, and exits 0.

Usage: python .ci/pip_audit_verdict.py REPORT.json LOCKFILE
"""

from __future__ import annotations

import json
import sys


def verdict(report_path: str, lock: str) -> tuple[int, list[str]]:
    try:
        with open(report_path, encoding="utf-8") as f:
            deps = json.load(f)["dependencies"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0, [f"dependency audit NOT DONE for {lock}: the advisory service was unreachable"]
    lines = []
    vulnerable = [d for d in deps if d.get("vulns")]
    skipped = [d for d in deps if d.get("skip_reason")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            lines.append(
                f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})"
            )
    audited = len(deps) - len(skipped)
    if skipped and not audited:
        lines.append(
            f"dependency audit NOT DONE for {lock}: the advisory service knows none of the "
            f"{len(skipped)} packages (a mirror without the vulnerability API?)"
        )
    else:
        lines.append(
            f"dependency audit {lock}: {audited} audited, {len(skipped)} not known to the "
            f"service, {len(vulnerable)} vulnerable"
        )
    return (1 if vulnerable else 0), lines


if __name__ == "__main__":
    code, out = verdict(sys.argv[1], sys.argv[2])
    print("\n".join(out))
    sys.exit(code)
