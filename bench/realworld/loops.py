"""The Python workloads of bench/realworld.sh.

  loops.py story write|copyfile clock|unique LOOP TARGET SRCDIR SECONDS META
      the story: open(tmp, "w").write(payload) or shutil.copyfile(src, tmp),
      then os.rename(tmp, TARGET); "clock" names the temp
      "TARGET.<second>.tmp" (racy), "unique" "TARGET.<pid>.<i>.tmp".
      Logs "I PID START TEMP" per iteration to META at the end.
  loops.py counter COUNTER SECONDS DONE
      read COUNTER in a with block, write it plus one to COUNTER.<pid>,
      os.replace it back. Writes the number of increments to DONE.
Each loop stops at its first check SECONDS (whole seconds of the clock)
after it started, or after RW_ITERS iterations (increments) when that is
set and not 0.
"""
import os
import shutil
import sys
import time

PAD = "." * 32
ITERS = int(os.environ.get("RW_ITERS", "0"))


def payload(loop, i):
    return "".join(f"rw {loop} {i} {k:02d} 64 {PAD}\n" for k in range(64))


def story(how, naming, loop, target, srcdir, seconds, metafile):
    loop, until = int(loop), time.time_ns() // 10**9 + int(seconds)
    log = []
    i = 0
    while True:
        i += 1
        ns = time.time_ns()
        sec = ns // 10**9
        src = os.path.join(srcdir, f"{loop}.{i}")
        if sec >= until or (how == "copyfile" and not os.path.exists(src)) or ITERS and i > ITERS:
            break
        if naming == "clock":
            tmp = f"{target}.{sec}.tmp"
        else:
            tmp = f"{target}.{os.getpid()}.{i}.tmp"
        if how == "write":
            open(tmp, "w").write(payload(loop, i))
        else:
            shutil.copyfile(src, tmp)
        try:
            os.rename(tmp, target)
        except FileNotFoundError:
            pass  # another loop renamed the shared temp first: the story's bug
        log.append(f"{i} {os.getpid()} {sec}.{ns % 10**9:09d} {tmp}\n")
    with open(metafile, "w") as f:
        f.write("".join(log))


def counter(path, seconds, done):
    until = time.time() + int(seconds)
    n = 0
    while (n % 10 or time.time() < until) and not (ITERS and n >= ITERS):
        with open(path) as f:
            v = int(f.read())
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{v + 1}\n")
        os.replace(tmp, path)
        n += 1
    with open(done, "w") as f:
        f.write(f"{n}\n")


if __name__ == "__main__":
    {"story": story, "counter": counter}[sys.argv[1]](*sys.argv[2:])
