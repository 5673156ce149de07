"""Every bad value gets a message naming its source and value: exit 4, no traceback."""

from __future__ import annotations

import pytest

BAD_OPTIONS = [
    (["--qwenperf-workers=0"], "--qwenperf-workers", "'0'"),
    (["--qwenperf-workers=many"], "--qwenperf-workers", "'many'"),
    (["--qwenperf-requests=-3"], "--qwenperf-requests", "'-3'"),
    (["--qwenperf-rate=0"], "--qwenperf-rate", "'0'"),
    (["--qwenperf-rate=fast"], "--qwenperf-rate", "'fast'"),
    (["--qwenperf-timeout=-5s"], "--qwenperf-timeout", "-5s"),
    (["--qwenperf-timeout=10 parsecs"], "--qwenperf-timeout", "10 parsecs"),
    (["--qwenperf-retries=1.5"], "--qwenperf-retries", "'1.5'"),
    (["--qwenperf-size=huge"], "--qwenperf-size", "'huge'"),
    (["--qwenperf-api=grpc"], "--qwenperf-api", "'grpc'"),
    (["--qwenperf-gate=maybe"], "--qwenperf-gate", "'maybe'"),
    (["--qwenperf-sim-profile=broken"], "--qwenperf-sim-profile", "'broken'"),
    (["--qwenperf-url=dashscope.aliyuncs.com"], "--qwenperf-url", "http"),
    (["--qwenperf-url=https://u:p@example.invalid"], "--qwenperf-url", "credentials"),
    (["--qwenperf-url=https://example.invalid/?key=abc"], "--qwenperf-url", "query string"),
    (["--qwenperf-url=http://127.0.0.1:9"], "--qwenperf-url", "--qwenperf-api"),
    (["--qwenperf-sla=p95<=12 parsecs"], "--qwenperf-sla", "p95"),
    (["--qwenperf-sla=p96<=12s"], "--qwenperf-sla", "p96"),
    (["--qwenperf-sla=timeout_rate<=150%"], "--qwenperf-sla", "150%"),
    (["--qwenperf-session-sla=p95<=-1s"], "--qwenperf-session-sla", "-1s"),
    (["--qwenperf-max-images=0"], "--qwenperf-max-images", "'0'"),
    (
        ["--qwenperf-url=http://127.0.0.1:9/api/v1", "--qwenperf-sim-profile=degraded"],
        "--qwenperf-sim-profile",
        "--qwenperf-url",
    ),
]


@pytest.mark.parametrize(("args", "source", "value"), BAD_OPTIONS)
def test_bad_option_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], source: str, value: str
) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert source in err, err
    assert value in err, err
    assert "Traceback" not in err + result.stdout.str()
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


@pytest.mark.parametrize(
    ("ini", "source"),
    [
        ("qwenperf_workers = none", "ini key qwenperf_workers"),
        ("qwenperf_sla = p95 <= soon", "ini key qwenperf_sla"),
        ("qwenperf_timeout = 0", "ini key qwenperf_timeout"),
    ],
)
def test_bad_ini_is_a_usage_error(pytester: pytest.Pytester, ini: str, source: str) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert source in result.stderr.str()


def test_bad_env_url_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QWENPERF_URL", "ftp://example.invalid/")
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "environment variable QWENPERF_URL" in result.stderr.str()


BAD_MARKERS = [
    ("@pytest.mark.qwenperf(requests=0)", "qwenperf marker keyword requests", "0"),
    ("@pytest.mark.qwenperf(workers='x')", "qwenperf marker keyword workers", "'x'"),
    ("@pytest.mark.qwenperf(reqests=5)", "qwenperf marker got unknown keyword", "reqests"),
    ("@pytest.mark.qwenperf(5)", "qwenperf marker takes keyword arguments only", "5"),
    ("@pytest.mark.qwenperf(timeout='fast')", "qwenperf marker keyword timeout", "fast"),
    ("@pytest.mark.qwenperf(prompts='missing.txt')", "qwenperf marker keyword prompts", "missing"),
    ("@pytest.mark.qwenperf(prompts='empty.txt')", "qwenperf marker keyword prompts", "empty"),
    ("@pytest.mark.qwenperf(images=['nope.png'])", "qwenperf marker keyword images", "nope.png"),
    ("@pytest.mark.qwenperf(images=['a.png'], api='dashscope-async')", "images", "async"),
    (
        "@pytest.mark.qwenperf(images=['https://oss.example/a.png'], api='openai')",
        "qwenperf marker keyword images",
        "image 1 is a URL; the OpenAI edits API uploads the image itself",
    ),
    ("@pytest.mark.sla(p95='fast')", "sla marker", "fast"),
    ("@pytest.mark.sla(p97='1s')", "sla marker", "p97"),
    ("@pytest.mark.sla(timeout_rate='120%')", "sla marker", "120%"),
    ("@pytest.mark.sla('p95<=1s')", "sla marker takes keyword arguments only", "p95"),
    ("@pytest.mark.sla()", "sla marker has no thresholds", "sla"),
]


@pytest.mark.parametrize(("marker", "source", "value"), BAD_MARKERS)
def test_bad_marker_errors_that_test_only(
    pytester: pytest.Pytester, marker: str, source: str, value: str
) -> None:
    pytester.makefile(".txt", empty="\n\n")
    pytester.makefile(".png", a="not really a png")
    pytester.makepyfile(
        f"""
        import pytest

        {marker}
        def test_bad(qwenperf):
            qwenperf.run()

        def test_fine():
            pass
        """
    )
    result = pytester.runpytest("--qwenperf-sim-profile=fixed", "--qwenperf-requests=1")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1
    assert outcomes.get("errors", 0) + outcomes.get("failed", 0) == 1
    out = result.stdout.str()
    assert source in out, out
    assert value in out, out
    assert "Traceback" not in out
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_bad_run_keyword_fails_that_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_bad(qwenperf):
            qwenperf.run(workers=-1)
        """
    )
    result = pytester.runpytest("--qwenperf-sim-profile=fixed")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*qwenperf.run() keyword workers must be a whole number*-1*"])


def test_sla_marker_without_fixture_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(p95="1s")
        def test_no_load():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*sla marker on a test that ran no qwenperf load*"])


def test_sla_marker_with_fixture_but_no_run_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.sla(p95="1s")
        def test_no_run(qwenperf):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*sla marker on a test that ran no qwenperf load*"])


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "does not exist"), (b"\n \n", "is empty"), (b"\xff\xfe bad", "is not UTF-8")],
)
def test_bad_prompts_file_is_a_usage_error(
    pytester: pytest.Pytester, content: bytes | None, problem: str
) -> None:
    if content is not None:
        (pytester.path / "prompts.txt").write_bytes(content)
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest("--qwenperf-prompts=prompts.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--qwenperf-prompts: prompts file" in err
    assert problem in err
    assert "Traceback" not in err


def test_prompts_file_from_ini_is_read_relative_to_the_rootdir(pytester: pytest.Pytester) -> None:
    (pytester.path / "perf").mkdir()
    (pytester.path / "perf" / "prompts.txt").write_text("一只猫\na red bicycle\n", "utf-8")
    pytester.makeini("[pytest]\nqwenperf_prompts = perf/prompts.txt\n")
    pytester.makepyfile(
        """
        def test_uses_the_file(qwenperf):
            result = qwenperf.run(requests=4)
            assert [s.prompt for s in result.samples] == ["一只猫", "a red bicycle"] * 2
        """
    )
    result = pytester.runpytest("--qwenperf-sim-profile=fixed", "--qwenperf-workers=1")
    result.assert_outcomes(passed=1)
