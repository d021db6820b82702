#!/usr/bin/env python3
"""The table of BENCHMARKS.md, from the medians criterion saved in the last run of
`cargo bench --bench engine` (target/criterion/*/new/estimates.json).

The crypto floor of a step is its HMAC evaluations times one HMAC over a record-sized message
(200 bytes), plus its random draws times one 16-byte draw, both timed in the same run. The
counts are those `tests/suite/cost.rs` asserts (a later checkout: the number's guard exists). The
busy buyer's two guard HMACs cover its whole guard record, timed at that size.
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"

# step: (criterion id, HMAC evaluations, random draws, store round trips)
STEPS = [
    ("initiate", "steps/initiate", 1, 1, 1),
    ("resume", "steps/resume", 1, 0, 1),
    ("verify_pin", "steps/verify_pin", 6, 0, 4),
    ("send_code", "steps/send_code", 2, 1, 1),
    ("confirm (+ settle)", "steps/confirm_and_settle", 3, 0, 2),
    ("full checkout, 2 resumes included", "checkout_full", 14, 2, 10),
]


def median_ns(bench: str) -> float:
    path = ROOT / bench / "new" / "estimates.json"
    try:
        return json.loads(path.read_text())["median"]["point_estimate"]
    except FileNotFoundError:
        sys.exit(f"no figures for {bench}: run `cargo bench --bench engine` first")


def fmt(ns: float) -> str:
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def main() -> None:
    hmac, draw = median_ns("floor/hmac_200_bytes"), median_ns("floor/random_16_bytes")
    print(f"HMAC-SHA256 over 200 bytes: {fmt(hmac)}; 16 random bytes: {fmt(draw)}\n")
    print("| step | median | HMACs | draws | crypto floor | ratio | store round trips |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, bench, hmacs, draws, trips in STEPS:
        time, floor = median_ns(bench), hmacs * hmac + draws * draw
        print(f"| {name} | {fmt(time)} | {hmacs} | {draws} | {fmt(floor)} | {time / floor:.2f}× | {trips} |")
    guard = median_ns("floor/hmac_busy_guard")
    busy, floor = median_ns("checkout_busy_buyer"), 12 * hmac + 2 * guard + 2 * draw
    print(f"| full checkout, the busy buyer (its guard HMACs at full size) | {fmt(busy)} | 14 | 2 | {fmt(floor)} | {busy / floor:.2f}× | 10 |")
    encode, decode = median_ns("codec/encode_payment"), median_ns("codec/decode_payment")
    print(f"| codec: encode a payment record | {fmt(encode)} | 1 | 0 | {fmt(hmac)} | {encode / hmac:.2f}× | — |")
    print(f"| codec: decode a payment record | {fmt(decode)} | 1 | 0 | {fmt(hmac)} | {decode / hmac:.2f}× | — |")
    one, two = median_ns("contention/1_threads"), median_ns("contention/2_threads")
    print(f"\nCheckouts per second: {1e9 / one:,.0f} on 1 thread, {1e9 / two:,.0f} on 2 threads: {one / two:.2f}× the throughput.")


if __name__ == "__main__":
    main()
