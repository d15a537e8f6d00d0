"""How every benchmark ends: each target PASS or FAIL, and the exit status that says so."""

from __future__ import annotations


def verdict(checks: list[tuple[str, bool]]) -> int:
    """Prints each check; 0 if every one passed, else 1."""
    print()
    for name, passed in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {name}")
    return 0 if all(passed for _, passed in checks) else 1
