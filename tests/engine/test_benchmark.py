"""The sweep benchmark runs end to end on a tiny sweep (speed itself is measured by running it, not here)."""

import json
import math

from benchmarks.sweep import main


def test_the_benchmark_reports_both_contenders_and_equal_rf_results(tmp_path, capsys):
    out = tmp_path / "bench.json"
    args = ["--device", "cpu", "--epochs", "1", "--widths", "2", "8", "--seeds", "0"]
    assert main([*args, "--rf-widths", "4", "--rf-seeds", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "speedup" in printed and "plain loop" in printed and "RF sweep" in printed
    results = json.loads(out.read_text())
    mlp, rf = results["mlp"], results["rf"]
    assert mlp["models"] == 2 and mlp["engine_s"] > 0 and mlp["plain_s"] > 0
    assert math.isclose(mlp["speedup"], mlp["plain_s"] / mlp["engine_s"])
    assert 0 < mlp["engine_test_error"] < 1 and 0 < mlp["plain_test_error"] < 1
    assert results["info"]["matmul_gflops"] > 0
    assert rf["fits"] == 4 and rf["max_difference"] < 1e-9, "fits solved together equal fits solved alone"
