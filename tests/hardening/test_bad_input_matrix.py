"""The bad-input matrix: every option (on the command line, as an ini key and, where it has
one, as an environment variable), every marker keyword and the API key variable, tried with
wrong values. Each must give a message naming the source and the value, the right exit code
(4 for a usage error) and no traceback. docs/errors.md lists the messages.

The option matrix is keyed by ``settings.OPTIONS`` and the marker matrix by
``settings.MARKER_KEYS``: a new option or keyword without a bad-value case fails
``test_every_option_has_bad_values`` / ``test_every_marker_keyword_has_bad_values``.
Cases already in tests/plugin/test_bad_input.py are not repeated unless a new layer is tried.

Note: the tests run as root, where ``chmod 000`` does not stop a read, so an "unreadable"
prompts file is a folder, or a file that is not UTF-8.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from pytest_qwenperf.settings import MARKER_KEYS, OPTIONS, OPTIONS_BY_KEY

USAGE = pytest.ExitCode.USAGE_ERROR


@dataclass(frozen=True)
class Bad:
    value: str
    #: text the message must contain besides the source (usually the value itself)
    says: str
    #: the exit code: 4, a usage error
    code: int = USAGE
    #: layers this value can be given in (pytest strips ini values: a blank one is "not set")
    layers: tuple[str, ...] = ("cli", "ini", "env")


#: Wrong values per option key. Prompt-file cases use files the test creates:
#: ``missing.txt`` (absent), ``empty.txt`` (blank lines only), ``folder`` (a folder),
#: ``latin1.txt`` (not UTF-8).
BAD_OPTION_VALUES: dict[str, list[Bad]] = {
    "url": [
        Bad("dashscope.aliyuncs.com/api/v1", "http://"),  # no scheme
        Bad("ftp://example.invalid/api/v1", "http://"),
        Bad("https://u:p@example.invalid/api/v1", "credentials"),
        Bad("https://example.invalid/api/v1?key=abc", "query string"),
        Bad("http://127.0.0.1:99999/api/v1", "port"),
        Bad("http://127.0.0.1:9", "--qwenperf-api"),  # ambiguous API
        Bad("http://[::1/api/v1", "URL"),  # urllib raises a plain ValueError here
    ],
    "api": [Bad("grpc", "'grpc'"), Bad("DashScope", "'DashScope'")],
    "model": [Bad("   ", "non-empty", layers=("cli",))],
    "workers": [Bad("0", "'0'"), Bad("many", "'many'"), Bad("2.5", "'2.5'"), Bad("-1", "'-1'")],
    "requests": [Bad("0", "'0'"), Bad("ten", "'ten'"), Bad("1e3", "'1e3'")],
    "rate": [Bad("0", "'0'"), Bad("-2", "'-2'"), Bad("fast", "'fast'"), Bad("nan", "'nan'")],
    "arrival": [Bad("burst", "'burst'")],
    "timeout": [
        Bad("0", "'0'"),
        Bad("-5s", "-5s"),
        Bad("10 parsecs", "parsecs"),
        Bad("soon", "soon"),
        Bad("1e400s", "1e400s"),  # overflows to infinity: a deadline that never comes
    ],
    "retries": [Bad("-1", "'-1'"), Bad("1.5", "'1.5'"), Bad("x", "'x'")],
    "warmup": [Bad("-1", "'-1'"), Bad("some", "'some'")],
    "size": [Bad("huge", "'huge'"), Bad("1328", "'1328'"), Bad("1328*", "'1328*'")],
    "prompts": [
        Bad("missing.txt", "does not exist"),
        Bad("empty.txt", "is empty"),
        Bad("folder", "is a directory"),
        Bad("latin1.txt", "not UTF-8"),
    ],
    "sla": [
        Bad("p95<=12 parsecs", "parsecs"),
        Bad("p96<=12s", "p96"),
        Bad("timeout_rate<=150%", "150%"),
        Bad("p95", "p95"),
        Bad(" , ", "threshold"),  # a spec with no threshold: a gate that is silently inert
    ],
    "session_sla": [Bad("p95<=-1s", "-1s"), Bad("throughput>=fast", "fast")],
    "gate": [Bad("maybe", "'maybe'")],
    "max_images": [Bad("0", "'0'"), Bad("lots", "'lots'")],
    "sim_profile": [Bad("broken", "'broken'")],
    "sim_time_scale": [Bad("0", "'0'"), Bad("-1", "'-1'"), Bad("x", "'x'"), Bad("inf", "'inf'")],
    # report paths are checked at start-up, before any request is paid for
    "json": [Bad("folder", "is a folder"), Bad("afile/perf.json", "is a file")],
    "junit": [Bad("folder", "is a folder")],
    "csv": [Bad("folder", "is a folder")],
    "markdown": [Bad("afile/summary.md", "is a file")],
    # flags take no value on the command line; their ini keys do
    "no_samples": [Bad("maybe", "maybe")],
    "insecure": [Bad("sometimes", "sometimes")],
}

SUITE = """
import pytest

@pytest.mark.qwenperf(requests=1, workers=1)
def test_one(qwenperf):
    qwenperf.run()
"""


def _files(pytester: pytest.Pytester) -> None:
    pytester.makefile(".txt", empty="\n  \n")
    pytester.path.joinpath("latin1.txt").write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    pytester.mkdir("folder")
    pytester.path.joinpath("afile").write_text("I am a file")


def test_every_option_has_bad_values() -> None:
    assert set(BAD_OPTION_VALUES) == {spec.key for spec in OPTIONS}


def _cases() -> list[object]:
    params: list[object] = []
    for key, bads in BAD_OPTION_VALUES.items():
        spec = OPTIONS_BY_KEY[key]
        layers = (["ini"] if spec.flag_only else ["cli", "ini"]) + (["env"] if spec.env else [])
        for bad in bads:
            for layer in [la for la in layers if la in bad.layers]:
                params.append(pytest.param(key, bad, layer, id=f"{layer}-{key}={bad.value}"))
    return params


@pytest.mark.parametrize(("key", "bad", "layer"), _cases())
def test_bad_option_value(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, key: str, bad: Bad, layer: str
) -> None:
    spec = OPTIONS_BY_KEY[key]
    _files(pytester)
    pytester.makepyfile(test_one=SUITE)
    args = ["--qwenperf-sim-profile=fixed"] if not key.startswith(("url", "sim_")) else []
    if layer == "cli":
        args.append(f"{spec.option}={bad.value}")
        source = spec.option
    elif layer == "ini":
        pytester.makeini(f"[pytest]\n{spec.ini} = {bad.value}\n")
        source = spec.ini
    else:
        assert spec.env is not None
        monkeypatch.setenv(spec.env, bad.value)
        source = spec.env
    result = pytester.runpytest(*args, "-p", "no:cacheprovider")
    out = result.stdout.str() + "\n" + result.stderr.str()
    assert result.ret == bad.code, out[-1500:]
    assert source in out, out[-1500:]
    assert bad.says in out, out[-1500:]
    assert "Traceback" not in out
    assert "INTERNALERROR" not in out
    assert "During handling of the above exception" not in out


# -- marker keywords ---------------------------------------------------------------------------

#: Wrong values per keyword of the qwenperf marker (also tried as qwenperf.run() keywords).
BAD_MARKER_VALUES: dict[str, list[tuple[str, str]]] = {
    "requests": [("-1", "-1"), ("'5 please'", "5 please"), ("True", "True")],
    "workers": [("0", "0"), ("2.5", "2.5")],
    "rate": [("0", "0"), ("'fast'", "fast"), ("-1.0", "-1.0")],
    "arrival": [("'burst'", "burst"), ("1", "1")],
    "warmup": [("-1", "-1"), ("'x'", "x")],
    "timeout": [("0", "0"), ("'-1s'", "-1s"), ("'1 fortnight'", "fortnight")],
    "retries": [("-1", "-1"), ("'x'", "x")],
    "prompts": [("5", "5"), ("[]", "[]"), ("['ok', '']", "''"), ("'folder'", "directory")],
    "size": [("'huge'", "huge"), ("1328", "1328")],
    "api": [("'grpc'", "grpc"), ("None", "None")],
    "model": [("''", "''"), ("42", "42")],
    "images": [("[]", "0"), ("['a.png'] * 4", "4"), ("[42]", "42")],
}
BAD_SLA_MARKERS: list[tuple[str, str]] = [
    ("p95=None", "None"),
    ("error_rate=2", "2"),
    ("throughput='fast'", "fast"),
    ("success_rate='110%'", "110%"),
    ("p95='12s', p95x='1s'", "p95x"),
]


def test_every_marker_keyword_has_bad_values() -> None:
    assert set(BAD_MARKER_VALUES) == set(MARKER_KEYS)


def _marker_suite() -> tuple[str, dict[str, str]]:
    """One suite with a test per bad value (one session: one simulator start)."""
    lines = ["import pytest", ""]
    expected: dict[str, str] = {}
    n = 0
    for key, bads in BAD_MARKER_VALUES.items():
        for code, says in bads:
            n += 1
            name = f"test_marker_{key}_{n}"
            lines += [f"@pytest.mark.qwenperf({key}={code})", f"def {name}(qwenperf):"]
            lines += ["    qwenperf.run()", ""]
            expected[name] = f"qwenperf marker keyword {key}|{says}"
            n += 1
            name = f"test_run_{key}_{n}"
            lines += [f"def {name}(qwenperf):", f"    qwenperf.run({key}={code})", ""]
            expected[name] = f"qwenperf.run() keyword {key}|{says}"
    for code, says in BAD_SLA_MARKERS:
        n += 1
        name = f"test_sla_{n}"
        lines += [f"@pytest.mark.sla({code})", f"def {name}(qwenperf):", "    qwenperf.run()", ""]
        expected[name] = f"sla marker|{says}"
    lines += ["def test_fine():", "    pass", ""]
    return "\n".join(lines), expected


def test_bad_marker_and_run_keywords_error_their_test_only(pytester: pytest.Pytester) -> None:
    source, expected = _marker_suite()
    _files(pytester)
    pytester.makefile(".png", a="not really a png")
    pytester.makepyfile(test_markers=source)
    result = pytester.runpytest(
        "--qwenperf-sim-profile=fixed", "--qwenperf-requests=1", "-p", "no:cacheprovider", "-rfE"
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1, outcomes
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == len(expected), outcomes
    out = result.stdout.str()
    assert "Traceback" not in out
    assert "INTERNALERROR" not in out
    sections = out.split("\n____")
    for name, wanted in expected.items():
        (section,) = [s for s in sections if f" {name} " in s.split("\n", 1)[0]]
        source, says = wanted.split("|")
        assert source in section, (name, section)
        assert says in section, (name, section)


def test_bad_marker_error_is_shown_once_without_exception_chaining(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.qwenperf(requests=0)
        def test_bad(qwenperf):
            qwenperf.run()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "During handling of the above exception" not in out, out
    # once in the failure; the short summary line repeats it only when it fits the width
    message = "qwenperf marker keyword requests must be a whole number >= 1, got 0"
    assert out.count(message) in (1, 2), out


# -- the API key variable ------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("sk-ключ-0123456789", id="non-ascii"),
        pytest.param("sk-abc\r\nX-Injected: 1", id="crlf"),
    ],
)
@pytest.mark.parametrize("variable", ["QWENPERF_API_KEY", "DASHSCOPE_API_KEY"])
def test_api_key_that_cannot_be_sent_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, key: str, variable: str
) -> None:
    monkeypatch.setenv(variable, key)
    pytester.makepyfile(test_one=SUITE)
    result = pytester.runpytest("--qwenperf-sim-profile=fixed", "-p", "no:cacheprovider")
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == USAGE, out[-1500:]
    assert variable in out
    for fragment in ("ключ", "X-Injected", "sk-abc"):
        assert fragment not in out


# -- absurd sizes ------------------------------------------------------------------------------


def test_absurd_worker_count_cannot_eat_the_machine(pytester: pytest.Pytester) -> None:
    """A typo such as 10**12 workers must not hang the job or exhaust memory: it ends quickly,
    either refused (exit 4) or run with the threads the requests need (2 here). The child
    gets at most 1 GiB of address space and 30 s, so a failure cannot take the machine down."""
    option = "--qwenperf-workers"
    pytester.makepyfile(
        test_one="""
        import pytest

        @pytest.mark.qwenperf(requests=2)
        def test_one(qwenperf):
            qwenperf.run()
        """
    )

    def limit_memory() -> None:  # pragma: no cover - runs in the child
        cap = 1024**3
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    began = time.monotonic()
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "--qwenperf-sim-profile=fixed",
                f"{option}={10**12}",
            ],
            cwd=pytester.path,
            capture_output=True,
            timeout=30,
            preexec_fn=limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{option}={10**12}: the session was still running after 30 s")
    took = time.monotonic() - began
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    assert proc.returncode in (USAGE, pytest.ExitCode.OK), (proc.returncode, took, out[-1500:])
    if proc.returncode == USAGE:
        assert option in out
    assert "Traceback" not in out
