"""How parse_scan reads passes typed through each mis-set keyboard (domain/keyboard.py).

Random bare codes (the demo's code maker) and signed QR payloads (the demo region's key) are
typed through each Situation's key mapping, then parsed twice: with the typing the desk's scan
field tells from the keys' timing (a burst for a scanner's situation, keys by hand for
DIGITS_WITHOUT_SHIFT), and without timing (a paste, the command line). For each it prints how
many were read right, refused, or read as another code with or without a layout warning (a
"silent misread": the worst case). It prints figures; it asserts nothing.

    .venv/bin/python bench/bench_layouts.py                  # 200,000 codes, 2,000 payloads
    .venv/bin/python bench/bench_layouts.py --codes 20000 --payloads 200
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from datetime import date

from mediateur_tui.domain.keyboard import SITUATIONS, Typing
from mediateur_tui.domain.scan_input import ScanInput, build_payload, parse_scan, signed_message
from mediateur_tui.domain.signatures import sign
from mediateur_tui.services.demo import MAIN_PROGRAMME, _CodeMaker, demo_region_key

UNTIL = date(2027, 6, 30)
OUTCOMES = ("right", "refused", "wrong, warned", "wrong, silent")


def outcome(scan: ScanInput, code: str) -> str:
    if scan.code == code:
        return "right"
    if scan.code is None:
        return "refused"
    warned = scan.layout_fixed or scan.other_reading is not None
    return "wrong, warned" if warned else "wrong, silent"


def measure(
    label: str,
    texts: list[str],
    codes: list[str],
    typed: Callable[[str], str],
    typing: Typing = Typing.UNKNOWN,
) -> None:
    pairs = zip(texts, codes, strict=True)
    counts = Counter(outcome(parse_scan(typed(text), typing), code) for text, code in pairs)
    figures = "  ".join(f"{name}: {counts[name]:>7,}" for name in OUTCOMES)
    print(f"  {label:<40} {figures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--codes", type=int, default=200_000)
    parser.add_argument("--payloads", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=13)
    arguments = parser.parse_args()
    codes = _CodeMaker(arguments.seed).take(arguments.codes)
    key = demo_region_key()
    qr_codes = codes[: arguments.payloads]
    payloads = [
        build_payload(
            MAIN_PROGRAMME, code, UNTIL, sign(key, signed_message(MAIN_PROGRAMME, code, UNTIL))
        )
        for code in qr_codes
    ]
    for kind, texts, expected in (
        ("bare codes", codes, codes),
        ("QR payloads", payloads, qr_codes),
    ):
        print(f"{kind} ({len(texts):,}):")
        measure("plain (well set)", texts, expected, lambda text: text)
        for situation in SITUATIONS:
            timed = Typing.HAND if situation.typed_by_hand else Typing.SCANNER
            for typing in (timed, Typing.UNKNOWN):
                label = f"{situation.name}, {typing.value}"
                measure(label, texts, expected, situation.type_as, typing)


if __name__ == "__main__":
    main()
