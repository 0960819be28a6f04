import subprocess
import sys

import pytest

SCRIPT = """
import resource, sys, torch
torch.set_num_threads(1)
if sys.argv[1] == "tuned":
    from autograph_rec.train.allocator import keep_freed_memory
    assert keep_freed_memory() and keep_freed_memory()  # idempotent
x = torch.ones(20000, 64)  # 5 MiB, the size of a node-embedding table
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(50):
    a = x * 2; b = a + 1; c = b * a; del a, b, c
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt is Linux-only")
def test_keep_freed_memory_stops_refaulting_freed_tensors():
    # Without the setting each freed 5 MiB block goes back to the kernel and is faulted in
    # again on the next allocation; with it the blocks are reused.
    default, tuned = page_faults("default"), page_faults("tuned")
    assert tuned < default / 2, (default, tuned)
