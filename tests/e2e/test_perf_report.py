"""`bizra bench`, short mode: the figures exist, and the report writes JSON, charts and page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bizra_desktop.bench.measure import BUILD_LLAMA_BENCH, BUILT_LLAMA_BENCH, find_llama_bench
from bizra_desktop.core.hardware import physical_cores
from tests.e2e.test_cli import bizra

pytestmark = pytest.mark.model


def test_the_quick_bench_prints_its_ratios(bizra_home: Path) -> None:
    result = bizra(
        bizra_home, "bench", "--rounds", "1", "--max-tokens", "16", "--contention", "1", "--json"
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["decode_ratio_same_settings"] > 0 and figures["pipeline_tokens_per_s"] > 0
    assert figures["decode_ratio_vs_defaults"] > 0
    assert figures["tokens_generated"]["pipeline"] == [16]
    assert figures["tokens_generated"]["bare"] == [16]
    contention = figures["contention"]
    assert contention["spinning_processes"] == 1
    assert contention["pipeline_loaded_tokens_per_s"] > 0
    assert contention["quiet_ratio_vs_fixed_threads"] > 0
    if find_llama_bench() is None:
        assert BUILD_LLAMA_BENCH in figures["native_missing"]
    else:
        assert figures["native_ratio"] > 0
        assert [n["threads"] for n in contention["native"]] == list(range(1, physical_cores() + 1))
        assert contention["loaded_ratio_vs_best_native"] > 0
    assert 0 < figures["analyzer_p99_ms"] < 5
    assert figures["ttft_turn5_ms"] < figures["ttft_turn5_without_cache_ms"]


def test_the_report_writes_json_chart_and_page(bizra_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = bizra(
        bizra_home, "bench", "--report", str(out), "--rounds", "1", "--max-tokens", "8", "--json"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "performance.json").read_text())
    (row,) = report["models"]
    assert row["tier"] == "starter" and row["model"] == "SmolLM2-135M-Instruct"
    for key in (
        "load_ms_first",
        "prompt_tokens_per_s",
        "peak_memory_mb",
        "decode_ratio_same_settings",
        "bandwidth_bound_tokens_per_s",
        "fraction_of_bound",
    ):
        assert row[key] and row[key] > 0, key
    assert row["prompt_tokens"] > 10  # the depth the native figure is taken at
    changes = {change["key"]: change for change in row["speed_changes"]}
    threads = physical_cores()
    assert set(changes) == {"flash_attn", "kv_cache", "stream_batching", "sampler"} | (
        {"threads"} if threads > 1 else set()
    )
    for change in changes.values():
        assert change["before"] > 0 and change["after"] > 0 and change["speedup"] > 0
    assert changes["kv_cache"]["speedup"] > 1  # reusing the cache beats re-reading turns 1-4
    if threads > 1:
        assert row["bound"].endswith(f"faster on {threads} threads than on 1")
    assert (out / "performance.png").read_bytes().startswith(b"\x89PNG")
    page = (out / "PERFORMANCE.md").read_text()
    assert "| SmolLM2-135M-Instruct | starter |" in page
    assert "No GPU was available" in page
    assert "| flash attention on | decode tok/s |" in page
    # The speculative decoding figures of `bizra bench --draft`, from the same run.
    drafting = report["drafting"]
    for key in ("draft_model", "prompt_lookup_rewrite", "prompt_lookup_general"):
        run = drafting[key]
        assert run["identical"], key  # greedy answers are the same with drafts
        assert run["plain_tokens_per_s"] > 0 and run["drafted_tokens_per_s"] > 0, key
    assert "### Speculative decoding" in page
    assert f"| draft model ({drafting['draft']} → {drafting['target']}) | general prompts" in page
    assert "| prompt lookup | rewrite prompts (6) |" in page
    # the page names the command that made it, and that command's defaults are the page's
    assert f"by `bizra bench --report {out} --rounds 1 --max-tokens 8`" in page
    assert report["command"] == f"bizra bench --report {out} --rounds 1 --max-tokens 8"


def test_the_default_llama_bench_is_where_the_build_script_puts_it() -> None:
    # The script and its output folder sit at the repository's root (build/llama-bench/).
    root = BUILT_LLAMA_BENCH.parents[2]
    assert (root / BUILD_LLAMA_BENCH).is_file()
    assert (root / "pyproject.toml").is_file()


def test_a_missing_llama_bench_says_how_to_build_it(bizra_home: Path, tmp_path: Path) -> None:
    result = bizra(bizra_home, "bench", "--llama-bench", str(tmp_path / "nowhere"), "--json")
    assert result.returncode != 0
    assert BUILD_LLAMA_BENCH in result.stderr
