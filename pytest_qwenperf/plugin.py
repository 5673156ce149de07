"""The pytest layer: options, ini keys, markers, the ``qwenperf`` fixture and hooks.

Only this module imports pytest; everything it calls is plain library code. State lives in
one :class:`QwenPerfPlugin` object kept in ``config.stash`` and registered at configure.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from pytest_qwenperf import progress as progress_mod
from pytest_qwenperf.engine.runner import run_load
from pytest_qwenperf.errors import ConfigError
from pytest_qwenperf.gates import evaluate
from pytest_qwenperf.metrics.merge import merge
from pytest_qwenperf.metrics.result import LoadResult
from pytest_qwenperf.prompts import BUILTIN_PROMPTS, load_prompt_file
from pytest_qwenperf.protocols.urls import detect_api
from pytest_qwenperf.reports.terminal import header_line, summary_lines
from pytest_qwenperf.runs import RunPlan, build_plan, check_marker_kwargs, sla_thresholds
from pytest_qwenperf.session import (
    RunRecord,
    SessionSummary,
    TargetInfo,
    session_concurrency,
)
from pytest_qwenperf.settings import OPTIONS, Settings, resolve_settings
from pytest_qwenperf.simproc import SimulatorProcess, SimulatorStartError
from pytest_qwenperf.thresholds import Threshold
from pytest_qwenperf.timescale import config_to_wall, result_to_simulated

if TYPE_CHECKING:
    from pytest_qwenperf.reports.writer import ReportOutputs

QWENPERF_MARKER = (
    "qwenperf(requests=, workers=, rate=, warmup=, timeout=, retries=, prompts=, size=, api=, "
    "model=, images=): the load one test sends through the qwenperf fixture."
)
SLA_MARKER = (
    "sla(p95='12s', timeout_rate='5%', ...): thresholds that gate every qwenperf run of the "
    "test; metrics p50 p90 p95 p99 max ok_p50..ok_max mean success_rate timeout_rate "
    "error_5xx_rate error_4xx_rate throttled_rate error_rate throughput."
)
NO_LOAD_MESSAGE = (
    "sla marker on a test that ran no qwenperf load: call qwenperf.run() in the test, or "
    "remove the marker (a gate without measurements can never pass)"
)
#: Attribute on a test report that carries the test's runs to the xdist controller.
REPORT_ATTR = "qwenperf_runs"
#: Key of xdist's worker input carrying the URL of the controller's simulator.
SIM_URL_KEY = "qwenperf_sim_url"

T = TypeVar("T")

PLUGIN_KEY = pytest.StashKey["QwenPerfPlugin"]()
ITEM_RUNS_KEY = pytest.StashKey[list[RunRecord]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("qwenperf", "Qwen-Image performance gates (pytest-qwenperf)")
    for spec in OPTIONS:
        # One help text for the option and its ini key; argparse %-formats option help.
        option_help = spec.help.replace("%", "%%")
        if spec.flag_only:
            group.addoption(
                spec.option, action="store_true", dest=spec.ini, default=None, help=option_help
            )
            # a string, parsed by the setting itself, so a bad value names the ini key
            parser.addini(spec.ini, help=spec.help, type="string", default="")
        else:
            group.addoption(
                spec.option,
                action="store",
                dest=spec.ini,
                default=None,
                metavar=spec.metavar,
                help=option_help,
            )
            parser.addini(spec.ini, help=spec.help, type="string", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", QWENPERF_MARKER)
    config.addinivalue_line("markers", SLA_MARKER)
    try:
        settings = resolve_settings(
            cli={spec.key: config.getoption(spec.ini) for spec in OPTIONS},
            env=os.environ,
            ini={spec.key: config.getini(spec.ini) for spec in OPTIONS},
        )
        target = session_target(settings)
        prompts = session_prompts(config, settings)
        plugin = QwenPerfPlugin(config, settings, target, prompts)
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        if workerinput is None:  # only the controller writes reports
            plugin.check_report_paths()
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    if workerinput is not None:
        # An xdist worker loads the controller's one simulator, and shares the image budget.
        if target.kind == "simulator" and workerinput.get(SIM_URL_KEY):
            target.url = str(workerinput[SIM_URL_KEY])
        plugin.budget_share = int(workerinput.get("workercount", 1))
    config.stash[PLUGIN_KEY] = plugin
    config.pluginmanager.register(plugin, "qwenperf-session")
    if workerinput is None and config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistController(plugin), "qwenperf-xdist")


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(PLUGIN_KEY, None)
    xdist_glue = config.pluginmanager.get_plugin("qwenperf-xdist")
    if xdist_glue is not None:
        config.pluginmanager.unregister(xdist_glue)
    if plugin is not None:
        plugin.close()
        config.pluginmanager.unregister(plugin)
        del config.stash[PLUGIN_KEY]


def session_prompts(config: pytest.Config, settings: Settings) -> tuple[str, ...]:
    """The --qwenperf-prompts file, read (and checked) once at start-up; an ini path is
    relative to the rootdir, a command-line path to the directory pytest was started in."""
    path: str | None = settings["prompts"]
    if path is None:
        return BUILTIN_PROMPTS
    source = settings.sources["prompts"]
    base = config.rootpath if source.startswith("ini") else config.invocation_params.dir
    return load_prompt_file(Path(base) / Path(path).expanduser(), source=source)


def session_target(settings: Settings) -> TargetInfo:
    """The session's target; an ambiguous URL without --qwenperf-api is a usage error."""
    url = settings.url
    if url is None:
        return TargetInfo(
            kind="simulator",
            url="",
            api=settings["api"] or "dashscope",
            model=settings["model"],
            profile=settings["sim_profile"],
            time_scale=settings["sim_time_scale"],
            insecure=settings["insecure"],
        )
    try:
        api = settings["api"] or detect_api(url)
    except ValueError as exc:
        raise ConfigError(
            f"{settings.sources['url']}: {exc}; choose with --qwenperf-api or ini qwenperf_api"
        ) from None
    return TargetInfo(
        kind="url", url=url, api=api, model=settings["model"], insecure=settings["insecure"]
    )


class QwenPerfPlugin:
    """Session state: the target, the runs measured so far, the image budget."""

    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        target: TargetInfo,
        prompts: tuple[str, ...] = BUILTIN_PROMPTS,
    ) -> None:
        self.config = config
        self.prompts = prompts
        self.settings = settings
        self.target = target
        self.runs: list[RunRecord] = []
        self.images_reserved = 0
        #: Under xdist each worker may use 1/workercount of the image cap.
        self.budget_share = 1
        self.xdist_workers = 0
        self.missing_tests: list[str] = []
        self.started_at = time.time()
        self.summary: SessionSummary | None = None
        self.written: list[Path] = []
        self.report_errors: list[str] = []
        self._simulator: SimulatorProcess | None = None

    # -- target -------------------------------------------------------------------------
    def live_target(self) -> TargetInfo:
        """The target with a URL: starts the embedded simulator the first time it is needed."""
        if self.target.kind == "simulator" and not self.target.url:
            simulator = SimulatorProcess(
                profile=self.target.profile or "healthy",
                time_scale=self.target.time_scale,
                api_key=self.settings.api_key,
            )
            self._simulator = simulator
            try:
                self.target.url = simulator.start()
            except SimulatorStartError as exc:
                raise ConfigError(str(exc)) from None
        return self.target

    def close(self) -> None:
        if self._simulator is not None:
            self._simulator.stop()
            self._simulator = None

    # -- budget -------------------------------------------------------------------------
    def reserve_images(self, plan: RunPlan) -> None:
        cap: int | None = self.settings["max_images"]
        wanted = plan.images_requested
        if cap is None:
            self.images_reserved += wanted
            return
        share = cap // self.budget_share
        if self.images_reserved + wanted > share:
            of_cap = f"the {cap} allowed by {self.settings.sources['max_images']}"
            if self.budget_share > 1:
                of_cap = (
                    f"this xdist worker's share ({share}) of {of_cap} split over "
                    f"{self.budget_share} workers"
                )
            raise ConfigError(
                f"this run would request {wanted} images ({plan.config.requests} measured + "
                f"{plan.config.warmup} warm-up), but {self.images_reserved} of {of_cap} are "
                "already used; nothing was sent. Raise the cap or lower requests"
            )
        self.images_reserved += wanted

    # -- hooks --------------------------------------------------------------------------
    def pytest_report_header(self, config: pytest.Config) -> str:
        return header_line(self.target, self.settings.values)

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if item.get_closest_marker("sla") is not None and "qwenperf" not in getattr(
            item, "fixturenames", ()
        ):
            pytest.fail(NO_LOAD_MESSAGE, pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when != "call":
            return report
        records = item.stash.get(ITEM_RUNS_KEY, [])
        failing = [r for r in records if r.verdict is not None and r.verdict.failed]
        if failing and not report.skipped:
            text = breach_text(failing, len(records))
            if report.failed and report.longrepr is not None:
                text = f"{text}\n\n{report.longrepr}"
            report.outcome = "failed"
            report.longrepr = text
        elif not records and report.passed and item.get_closest_marker("sla") is not None:
            report.outcome = "failed"
            report.longrepr = NO_LOAD_MESSAGE
        if records and hasattr(self.config, "workerinput"):
            setattr(report, REPORT_ATTR, [r.to_dict() for r in records])
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Runs measured by an xdist worker reach the controller on the call report.
        data = getattr(report, REPORT_ATTR, None)
        if data and not hasattr(self.config, "workerinput") and hasattr(report, "node"):
            self.runs.extend(RunRecord.from_dict(d) for d in data)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(self.config, "workerinput"):
            return
        summary = self.build_summary(int(exitstatus))
        self.summary = summary
        if summary.session_failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        summary.exit_status = int(session.exitstatus)
        self.write_reports(session)

    def report_outputs(self) -> ReportOutputs | None:
        """The report files asked for (None: none); relative paths against the rootdir."""
        root = Path(self.config.rootpath)

        def where(key: str) -> Path | None:
            value: str | None = self.settings[key]
            return None if value is None else root / Path(value).expanduser()

        step_summary = os.environ.get("GITHUB_STEP_SUMMARY") or None
        paths = {key: where(key) for key in ("json", "junit", "csv", "markdown")}
        if not (step_summary or any(paths.values())):
            return None
        from pytest_qwenperf.reports.writer import ReportOutputs

        return ReportOutputs(
            json=paths["json"],
            junit=paths["junit"],
            csv=paths["csv"],
            markdown=paths["markdown"],
            step_summary=None if step_summary is None else Path(step_summary),
            include_samples=not self.settings["no_samples"],
            sources={key: self.settings.sources[key] for key in paths},
        )

    def check_report_paths(self) -> None:
        """At start-up, before any image is paid for: refuse report paths that cannot work."""
        outputs = self.report_outputs()
        if outputs is not None:
            from pytest_qwenperf.reports.writer import check_outputs

            check_outputs(outputs)

    def write_reports(self, session: pytest.Session) -> None:
        """Write the requested report files, once, from the controller."""
        outputs = self.report_outputs()
        if self.summary is None or outputs is None:
            return
        from pytest_qwenperf.reports.writer import ReportWriteError, write_reports

        try:
            self.written = write_reports(self.summary, outputs)
        except ReportWriteError as exc:
            self.written = list(getattr(exc, "written", []))
            self.report_errors.append(str(exc))
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.summary is None or not (
            self.summary.runs or self.summary.session_verdict or self.report_errors
        ):
            return
        terminalreporter.section("qwenperf")
        for line in summary_lines(self.summary, verbose=self.config.get_verbosity() > 0):
            terminalreporter.write_line(line)
        for path in self.written:
            terminalreporter.write_line(f"qwenperf report written: {path}")
        for error in self.report_errors:
            terminalreporter.write_line(f"qwenperf ERROR: {error}", red=True)

    def build_summary(self, exitstatus: int) -> SessionSummary:
        session_sla: Mapping[str, Threshold] = self.settings["session_sla"]
        results = [r.result for r in self.runs]
        aggregate = merge(*results, label="session") if results else None
        verdict = None
        if session_sla:
            # A session SLA over no measurement is evaluated on zero samples: inconclusive,
            # which fails in every gate mode (a declared gate is never silently skipped).
            measured = aggregate or LoadResult(
                samples=[], mode="closed", workers=0, rate=None, planned=0, wall_time_s=0.0,
                started_at=self.started_at, label="session",
            )  # fmt: skip
            verdict = evaluate(measured, session_sla, self.settings["gate"])
        return SessionSummary(
            target=self.target,
            runs=list(self.runs),
            gate_mode=self.settings["gate"],
            aggregate=aggregate,
            session_verdict=verdict,
            interrupted=exitstatus == pytest.ExitCode.INTERRUPTED,
            started_at=self.started_at,
            finished_at=time.time(),
            settings={
                "values": {k: _plain(v) for k, v in self.settings.values.items()},
                "sources": dict(self.settings.sources),
                "api_key_source": self.settings.api_key_source,
            },
            exit_status=exitstatus,
            missing_tests=list(self.missing_tests),
            concurrency=session_concurrency(self.runs, aggregate, self.xdist_workers),
        )

    # -- runs ---------------------------------------------------------------------------
    def plan(
        self,
        item: pytest.Item,
        thresholds: Mapping[str, Threshold],
        marker_kwargs: Mapping[str, object],
        overrides: Mapping[str, object],
    ) -> RunPlan:
        """The run's plan, its images reserved; ConfigError when anything is wrong."""
        check_marker_kwargs((), overrides, "qwenperf.run()")
        plan = build_plan(
            self.settings,
            self.live_target(),
            [("qwenperf marker", marker_kwargs), ("qwenperf.run()", overrides)],
            thresholds,
            Path(str(item.path)).parent,
            self.prompts,
        )
        self.reserve_images(plan)
        return plan

    def run(
        self,
        item: pytest.Item,
        thresholds: Mapping[str, Threshold],
        marker_kwargs: Mapping[str, object],
        overrides: Mapping[str, object],
    ) -> LoadResult:
        plan = fail_on_config_error(lambda: self.plan(item, thresholds, marker_kwargs, overrides))
        target = self.target
        records = item.stash.setdefault(ITEM_RUNS_KEY, [])
        label = item.nodeid if not records else f"{item.nodeid} [run {len(records) + 1}]"
        wall_config = config_to_wall(plan.config, target.time_scale)
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        with progress_mod.live_progress(
            reporter, label, plan.config.requests, target.time_scale
        ) as on_sample:
            raw = run_load(wall_config, on_sample=on_sample)
        result = result_to_simulated(raw, target.time_scale, plan.config)
        result.label = label
        verdict = (
            evaluate(result, plan.thresholds, self.settings["gate"]) if plan.thresholds else None
        )
        record = RunRecord(
            test_id=item.nodeid,
            label=label,
            result=result,
            verdict=verdict,
            sources=dict(plan.sources),
        )
        records.append(record)
        self.runs.append(record)
        if result.interrupted:
            raise KeyboardInterrupt
        return result


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: (v.raw if isinstance(v, Threshold) else v) for k, v in value.items()}
    return value


def breach_text(failing: list[RunRecord], total_runs: int) -> str:
    """First line: the breached gates with their numbers (what CI reporters display)."""
    first = failing[0].verdict
    assert first is not None
    lines = [first.first_line()]
    if len(failing) > 1:
        lines[0] += f" (and {len(failing) - 1} more run(s) of this test breached)"
    for record in failing:
        assert record.verdict is not None
        if total_runs > 1:
            lines.append(f"run {record.label}:")
        lines.extend("  " + line for line in record.verdict.lines())
    return "\n".join(lines)


class QwenPerf:
    """The ``qwenperf`` fixture: ``qwenperf.run(**overrides) -> LoadResult``."""

    def __init__(
        self,
        plugin: QwenPerfPlugin,
        item: pytest.Item,
        thresholds: Mapping[str, Threshold],
        marker_kwargs: Mapping[str, object],
    ):
        self._plugin = plugin
        self._item = item
        self.thresholds = dict(thresholds)
        self._marker_kwargs = dict(marker_kwargs)

    @property
    def target(self) -> TargetInfo:
        return self._plugin.target

    @property
    def results(self) -> list[LoadResult]:
        """Results of the runs of this test so far."""
        return [r.result for r in self._item.stash.get(ITEM_RUNS_KEY, [])]

    def run(self, **overrides: object) -> LoadResult:
        """Send the load of this test (marker, options and these overrides) and gate it."""
        return self._plugin.run(self._item, self.thresholds, self._marker_kwargs, overrides)


@pytest.fixture
def qwenperf(request: pytest.FixtureRequest) -> QwenPerf:
    """Send concurrent Qwen-Image calls: ``result = qwenperf.run()``; sla markers gate it."""
    plugin = request.config.stash[PLUGIN_KEY]
    item = request.node
    if not isinstance(item, pytest.Item):  # pragma: no cover - function-scoped fixture
        raise TypeError("the qwenperf fixture is function-scoped")
    marker_kwargs, thresholds = fail_on_config_error(lambda: read_markers(plugin, item))
    return QwenPerf(plugin, item, thresholds, marker_kwargs)


def read_markers(
    plugin: QwenPerfPlugin, item: pytest.Item
) -> tuple[Mapping[str, object], dict[str, Threshold]]:
    """The test's qwenperf marker keywords and its thresholds, validated."""
    load_marker = item.get_closest_marker("qwenperf")
    sla_marker = item.get_closest_marker("sla")
    marker_kwargs: Mapping[str, object] = {}
    if load_marker is not None:
        check_marker_kwargs(load_marker.args, load_marker.kwargs, "qwenperf marker")
        marker_kwargs = load_marker.kwargs
    thresholds = sla_thresholds(
        plugin.settings,
        () if sla_marker is None else sla_marker.args,
        None if sla_marker is None else sla_marker.kwargs,
    )
    return marker_kwargs, thresholds


def fail_on_config_error(make: Callable[[], T]) -> T:
    """``make()``, or fail the current test with the ConfigError's message alone: no
    traceback and no chained exception, so the message is printed once."""
    try:
        return make()
    except ConfigError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)


class XdistController:
    """pytest-xdist glue, registered on the controller only when xdist is installed.

    One simulator for all workers (its URL rides in the worker input), the number of
    workers for the report, and the tests whose results never arrived: taken by a crashed
    worker, or still running on a worker when the session was interrupted (Ctrl-C reaches
    the controller and the workers at once; a worker's last words are then not read).
    """

    def __init__(self, plugin: QwenPerfPlugin) -> None:
        self.plugin = plugin
        #: tests started on a worker and not finished there, in start order, with how many
        #: workers run each (``--dist each`` runs a test on every worker)
        self.in_flight: Counter[str] = Counter()

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        if self.plugin.xdist_workers:  # tests run here, not on workers, report for themselves
            self.in_flight[nodeid] += 1

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.in_flight[nodeid] -= 1
        if self.in_flight[nodeid] <= 0:
            del self.in_flight[nodeid]

    def pytest_sessionfinish(self) -> None:
        # runs before the plugin's own (trylast) session finish, which builds the summary
        missing = self.plugin.missing_tests
        missing += [nodeid for nodeid in self.in_flight if nodeid not in missing]
        self.in_flight.clear()

    def pytest_configure_node(self, node: Any) -> None:
        self.plugin.xdist_workers += 1
        target = self.plugin.target
        if target.kind == "simulator":
            node.workerinput[SIM_URL_KEY] = self.plugin.live_target().url

    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        self.plugin.missing_tests.append(crashitem)
        self.pytest_runtest_logfinish(crashitem)
