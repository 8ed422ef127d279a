#!/usr/bin/env python3
"""CPU time per thread of running JVMs while a command runs: where a workload's CPU goes.

Usage: scripts/thread-cpu.py PIDS_FILE COMMAND [ARGS...]
  PIDS_FILE  lines "name pid" (as ../shared/bench/start-cluster.sh writes DATA_ROOT/pids)
Thread names come from `jcmd <pid> Thread.print` (Linux truncates them in /proc); numbered
threads of one pool are summed. Prints the 30 costliest (pid, thread) pairs in clock ticks
(usually 1/100 s) of user + system time spent while COMMAND ran.
"""
import collections
import os
import re
import subprocess
import sys


def names(pids):
    out = {}
    for p in pids:
        dump = subprocess.run(["jcmd", p, "Thread.print"], capture_output=True, text=True).stdout
        for m in re.finditer(r'^"([^"]+)".*nid=0x([0-9a-f]+)', dump, re.M):
            out[(p, str(int(m.group(2), 16)))] = m.group(1)
    return out


def snapshot(pids):
    ticks = {}
    for p in pids:
        for t in os.listdir(f"/proc/{p}/task"):
            try:
                stat = open(f"/proc/{p}/task/{t}/stat").read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            ticks[(p, t)] = int(fields[11]) + int(fields[12])
    return ticks


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    pids = [line.split()[1] for line in open(sys.argv[1]) if line.strip()]
    thread_names = names(pids)
    before = snapshot(pids)
    subprocess.run(sys.argv[2:])
    after = snapshot(pids)
    per_pool = collections.Counter()
    for key, t in after.items():
        name = thread_names.get(key, "?" + key[1])
        name = re.sub(r"group-[0-9A-F]+", "G", name)
        name = re.sub(r"\d+$", "#", name)
        per_pool[(key[0], name)] += t - before.get(key, 0)
    for (pid, name), t in per_pool.most_common(30):
        if t > 0:
            print(f"{pid:>8} {t:>6}  {name}")


if __name__ == "__main__":
    main()
