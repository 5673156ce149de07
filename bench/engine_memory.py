"""Memory of 100,000 samples as the engine builds them (tracemalloc).

    python bench/engine_memory.py [--samples 100000]

Builds the samples a successful DashScope run produces (one Attempt, one sanitized image URL,
the request id in ``extra``), half of them with a failure's code and message instead, and
wraps them in a LoadResult. Reports bytes per sample.
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
import uuid

from engine_common import machine

from pytest_qwenperf import Attempt, LoadResult, Outcome, Sample


def build(n: int) -> LoadResult:
    prompts = ("a photo of an orange cat sitting on a windowsill", "一只坐着的橘黄色的猫")
    samples = []
    for i in range(n):
        t = i * 0.01
        request_id = str(uuid.uuid4())
        if i % 2:
            sample = Sample(
                index=i,
                prompt=prompts[i % 2],
                intended_start=t,
                start=t + 0.0001,
                end=t + 12.5,
                outcome=Outcome.OK,
                status=200,
                attempts=(Attempt(Outcome.OK, t + 0.0001, t + 12.5, 200),),
                image_urls=(
                    f"https://dashscope-result-sz.oss-cn-shenzhen.aliyuncs.com/7d/{request_id}-1.png",
                ),
                bytes_received=612,
                extra={"request_id": request_id},
            )
        else:
            sample = Sample(
                index=i,
                prompt=prompts[i % 2],
                intended_start=t,
                start=t + 0.0001,
                end=t + 0.2,
                outcome=Outcome.HTTP_5XX,
                status=500,
                error_code="InternalError",
                error_message="An internal error has occured, please try again later or "
                "contact service support.",
                attempts=(Attempt(Outcome.HTTP_5XX, t + 0.0001, t + 0.2, 500, "InternalError"),),
                bytes_received=180,
                extra={"request_id": request_id},
            )
        samples.append(sample)
    return LoadResult(
        samples=samples,
        mode="closed",
        workers=10,
        rate=None,
        planned=n,
        wall_time_s=n * 0.01,
        started_at=0.0,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=100_000)
    args = parser.parse_args(argv)
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    result = build(args.samples)
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    used = after - before
    print(f"machine: {machine()}")
    print(
        f"{len(result.samples)} samples: {used / 2**20:.1f} MiB retained "
        f"({used / len(result.samples):.0f} bytes per sample), peak {peak / 2**20:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
