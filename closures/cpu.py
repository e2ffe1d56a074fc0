"""What this machine's CPU is, and whether it computes bfloat16 natively (the flags that decide
low-precision inference speed on x86: AVX512-BF16 and VNNI on recent AMD EPYC, AMX on Intel Xeon)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_bf16", "amx_int8")


@lru_cache(maxsize=1)
def cpu_info() -> tuple[str, frozenset]:
    """(model name, flags) from /proc/cpuinfo; ("unknown CPU", {}) where there is none."""
    model, flags = "unknown CPU", frozenset()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return model, flags


def cpu_line() -> str:
    """The CPU model and the flags that decide low-precision speed, for benchmark output."""
    model, flags = cpu_info()
    return f"{model}; " + " ".join(f"{f}={'yes' if f in flags else 'no'}" for f in SPEED_FLAGS)


def native_bf16() -> bool:
    """True if the CPU has bfloat16 arithmetic (AVX512-BF16 or AMX-BF16): bf16 inference is then
    2-4 times faster than float32; elsewhere it is emulated and several times slower."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_info()[1])


def native_int8_dot() -> bool:
    """True if the CPU has VNNI or AMX-INT8 (u8 x s8 dot products accumulated in int32): int8
    activations may then use all 8 bits; without them x86 kernels pass through int16 pairs
    that can saturate, so quantized activations keep 7 (torch's ``reduce_range``)."""
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & cpu_info()[1])
