"""The virtual board's CPU model: ``pyb-bridge vboard --cpu pyboard``.

The board's interpreter is MicroPython's unix port, tens of times faster on
a PC than the firmware on a PYBv1.1. With ``--cpu pyboard`` the supervisor
slows that process down so that the board's own code (bytecode and the C
functions it calls) takes as long as on a PYBv1.1, while the simulation of
the hardware, which is Python too, is not charged to the board (the
interpreter's half, ``pyb_sim.cpu_board``, counts the host time spent in it).

How: a thread in the supervisor reads, every ``TICK`` seconds, the CPU time
the interpreter has used and the time it waited for a CPU
(``/proc/PID/schedstat``), and the host time it spent in the simulation (a
counter in the interpreter's memory, ``/proc/PID/mem``). The board's code
may use ``1/slowdown`` of the wall clock while it runs; what it used beyond
that is a debt, paid by stopping the process (SIGSTOP) until the wall clock
has caught up, then SIGCONT. Time the board slept (or waited for the link)
is not saved up; time it lost waiting for a CPU of a busy host is made up
(up to ``CATCH_UP_BOARD_NS``). So the board
runs in bursts of about one tick of host time (``TICK * slowdown`` of board
time; a program that starts after the board was idle may run its first
``IDLE_TICK`` at the host's speed), and its clock stays the wall clock,
which the USB link model and the host share.

The slowdown factor comes from a calibration on this machine (see
``calibrate``; docs/virtual-board.md, "The CPU model").
"""

import json
import os
import platform
import signal
import struct
import subprocess
import sys
import threading
import time

TICK = 0.0002  # s between two looks at the interpreter while it runs
IDLE_TICK = 0.0005  # s between two looks while it did not run
CATCH_UP_BOARD_NS = 20_000_000  # most board time made up after waiting for a CPU
SIM_CARRY_NS = 50_000_000  # most simulation time carried from one look to the next
SPREAD_NS = 500_000_000  # how often the interpreter's new threads are moved off its CPU
RT_PRIORITY = 10  # SCHED_FIFO priority of the throttle's thread, when allowed

# --- calibration ---------------------------------------------------------------
# A workload written for this purpose: calls, integer and float arithmetic,
# lists, dicts, strings, bytes packed with struct, memoryview copies, a
# generator: the mix of MicroPython's perf_bench in one loop. One iteration
# of it costs a PYBv1.1 PYB_NS_PER_ITER ns: derived in docs/virtual-board.md
# ("Calibration") from perf_bench runs of the unix port on the development
# machine against the published PYBv1.1 scores, and checked with perf_bench
# on the virtual board at --cpu pyboard.
WORKLOAD = r"""
import struct, sys
def f(a, b=2):
    return a * b + 1
def gen(n):
    for i in range(n):
        yield i
class P:
    def __init__(self, x):
        self.x = x
    def step(self, k):
        self.x = (self.x * 1103515245 + k) & 0xFFFFFF
        return self.x
def work(n):
    buf = bytearray(64)
    mv = memoryview(buf)
    p = P(7)
    acc = 0
    fl = 0.5
    d = {}
    for i in range(n):
        acc += f(i) & 0xFFFF
        for j in gen(4):
            acc ^= p.step(j)
        fl = fl * 1.0001 + 0.25 / (1.0 + (i & 7))
        lst = [i, i + 1, i + 2, i + 3]
        lst.append(len(lst))
        acc += sum(lst)
        d[i & 31] = lst
        s = "%d:%d" % (i, acc & 255)
        acc += len(s)
        struct.pack_into("<HHI", buf, i & 31, i & 0xFFFF, acc & 0xFFFF, i)
        mv[32:48] = mv[0:16]
        acc += struct.unpack_from("<H", buf, 2)[0]
    return acc, fl
work(int(sys.argv[1]))
"""
CAL_ITERS = 20000
PYB_NS_PER_ITER = 136_000  # see docs/virtual-board.md, "Calibration"
# A sleep costs the interpreter host CPU time of its own (the system call,
# the timer, waking up again: tens of microseconds on a virtual machine),
# which the pacer would charge as the board's code: a board that waits in
# pyb.delay or wfi for a timer's next tick would be charged for every one.
# Measured with SLEEP_WORKLOAD: SLEEP_RUNS sleeps of SLEEP_US each.
SLEEP_WORKLOAD = r"""
import sys, time
for i in range(int(sys.argv[1])):
    time.sleep_us(400)
"""
SLEEP_RUNS = 1000


def cache_path():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pyb-bridge", "cpu.json")


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _key(micropython):
    st = os.stat(micropython)
    return "%s|%d|%d|%s|%s" % (os.path.realpath(micropython), st.st_size, int(st.st_mtime),
                               platform.machine(), _cpu_name())


def _run_cpu_ns(micropython, script, iters):
    """CPU time (ns) one run of the workload takes the interpreter."""
    proc = subprocess.Popen([micropython, script, str(iters)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode:
        raise RuntimeError("the calibration workload failed (%d): %s" % (proc.returncode, err))
    return int((usage.ru_utime + usage.ru_stime) * 1e9)


def _per_run_ns(micropython, workload, iters, runs):
    """Host CPU ns per iteration of ``workload``, start-up left out, one for
    each of ``runs`` runs, sorted."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="vboard-cal-") as d:
        script = os.path.join(d, "cal.py")
        with open(script, "w") as f:
            f.write(workload)
        base = min(_run_cpu_ns(micropython, script, 0) for _ in range(3))
        return sorted(max(_run_cpu_ns(micropython, script, iters) - base, 1) / iters
                      for _ in range(runs))


def measure_sleep(micropython, runs=3):
    """Host CPU ns one sleep costs the interpreter beyond the wait: the least
    of ``runs`` runs of SLEEP_RUNS sleeps (left out of the board's code by
    ``pyb_sim.cpu_board``; an overestimate would let the board run code
    for free, so the least is kept)."""
    return _per_run_ns(micropython, SLEEP_WORKLOAD, SLEEP_RUNS, runs)[0]


def measure(micropython, runs=7, iters=CAL_ITERS):
    """Host CPU ns per workload iteration: the median of ``runs`` runs (a
    busy machine's shared caches slow every run down, the median follows
    what the board's code will see), less the interpreter's start-up (the
    least of three runs of 0 iterations)."""
    times = _per_run_ns(micropython, WORKLOAD, iters, runs)
    return times[len(times) // 2]


def calibrate(micropython, force=False, cache=None):
    """The slowdown that makes this machine's interpreter run at a PYBv1.1's
    speed; measured once per interpreter and machine, then read from the
    cache (``force``: measure again). Returns a dict with ``slowdown``,
    ``host_ns_per_iter``, ``cached``."""
    cache = cache or cache_path()
    key = _key(micropython)
    if not force:
        try:
            with open(cache) as f:
                data = json.load(f)
            entry = data.get(key) if isinstance(data, dict) else None
            if (isinstance(entry, dict) and entry.get("host_ns_per_iter", 0) > 0
                    and entry.get("sleep_ns", -1) >= 0):
                ns = float(entry["host_ns_per_iter"])
                return {"slowdown": PYB_NS_PER_ITER / ns, "host_ns_per_iter": ns,
                        "sleep_ns": float(entry["sleep_ns"]), "cached": True, "file": cache}
        except (OSError, ValueError):
            pass
    ns = measure(micropython)
    sleep_ns = measure_sleep(micropython)
    try:
        with open(cache) as f:
            data = json.load(f)
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[key] = {"host_ns_per_iter": ns, "sleep_ns": sleep_ns,
                 "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        tmp = cache + ".tmp%d" % os.getpid()
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, cache)
    except OSError as e:
        print("vboard: cannot keep the CPU calibration in %s (%s); it is measured again "
              "next time" % (cache, e.strerror), file=sys.stderr)
    return {"slowdown": PYB_NS_PER_ITER / ns, "host_ns_per_iter": ns, "sleep_ns": sleep_ns,
            "cached": False, "file": cache}


# --- the throttle ----------------------------------------------------------------
class Pacer:
    """Keeps one interpreter process at ``1/slowdown`` of the host's speed
    for the board's code (see the module's docstring): a thread that looks
    at it every tick. It runs in a process of its own (``Throttle``), where
    no other Python code holds the interpreter lock when it wants to look."""

    def __init__(self, slowdown, tick=TICK, spin=True):
        self.slowdown = float(slowdown)
        self.tick = tick
        self.spin = spin  # spin through stops (``_pass``); False: sleep (bench/cpuspin.py)
        self.lock = threading.Lock()
        self.pid = None
        self.sched = self.mem = None
        self.stats = {"board_ns": 0, "sim_ns": 0, "stops": 0, "stopped_ns": 0, "repaid_ns": 0,
                      "looked_ns": 0, "told_kept_ns": 0, "stop_cpu_ns": 0, "looks": 0}
        self.describe = "cpu: the board's code slowed %.1fx" % self.slowdown
        # The pacer and the interpreter share one CPU: on a virtual machine
        # a CPU can be taken away for milliseconds at a time, and the
        # interpreter must not run on unpaced while the pacer's CPU is away.
        self.cpu_id = None
        self.other_cpus = set()  # for the interpreter's other threads (``_spread``)
        try:
            cpus = sorted(os.sched_getaffinity(0))
            self.cpu_id = cpus[os.getpid() % len(cpus)]
            self.other_cpus = set(cpus) - {self.cpu_id}
            os.sched_setaffinity(0, {self.cpu_id})
        except (OSError, AttributeError):
            self.cpu_id = None
        self._quit = False
        self.thread = threading.Thread(target=self._loop, name="cpu-throttle", daemon=True)
        self.thread.start()

    # the supervisor's hooks
    def attach(self, pid, address):
        """Start pacing interpreter ``pid``; its simulation-time counter is at ``address``."""
        with self.lock:
            self._close()
            try:
                self.sched = os.open("/proc/%d/schedstat" % pid, os.O_RDONLY)
            except OSError:
                return
            self.mem = None  # no exemption of the simulation: slower than a board
            self.mem_rw = False
            for mode in (os.O_RDWR, os.O_RDONLY):
                try:
                    self.mem = os.open("/proc/%d/mem" % pid, mode)
                    self.mem_rw = mode == os.O_RDWR
                    break
                except OSError:
                    pass
            if self.cpu_id is not None:
                try:
                    os.sched_setaffinity(pid, {self.cpu_id})
                except OSError:
                    pass
            self.pid = pid
            self.threads = set()
            self.spread_at = 0
            self._spread()
            self.address = address
            self.t = time.monotonic_ns()
            self.cpu, self.delay, self.sim, self.charged, self.spun = self._read()
            self.credit = 0.0  # host ns of board code it may still run
            self.stopped = 0  # ns it was stopped since the last look
            self.stopped_total = 0  # ns it was stopped, told to the interpreter
            # ns of the pacer's own looks, told to the interpreter with the
            # stops: on its CPU a look keeps the interpreter from running
            self.looked_total = 0
            self.last_look = 0  # ns the last look took
            self.sim_carry = 0.0  # host ns of the simulation's work not yet taken off
            self.spin_carry = 0.0  # and of the board's waits
            self.clock_carry = 0  # and of its time, not yet left out of the board's share
            self.unpaid = 0  # ns of the simulation's work left out of the board's clock
            self.repaid_total = 0  # ns of it paid back by shorter stops, told to the interpreter

    def _spread(self):
        """Move the interpreter's other threads (the interrupt controller's,
        pyb_sim.preempt) off its CPU: woken at a fast timer's every tick,
        one there keeps the board's code waiting for its CPU, and that wait
        cannot be told apart from the simulation's work."""
        self.spread_at = time.monotonic_ns() + SPREAD_NS
        if self.cpu_id is None or not self.other_cpus:
            return
        try:
            tids = {int(t) for t in os.listdir("/proc/%d/task" % self.pid)} - {self.pid}
        except OSError:
            return
        for tid in tids - self.threads:
            try:
                os.sched_setaffinity(tid, self.other_cpus)
            except OSError:
                pass
        self.threads = tids

    def detach(self):
        with self.lock:
            self._close()

    def close(self):
        self._quit = True
        self.detach()

    def _close(self):
        if self.pid is None:
            return
        for fd in (self.sched, self.mem):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.sched = self.mem = None
        self.pid = None

    def _read(self):
        """CPU ns used, ns waited for a CPU, host ns counted in the simulation,
        board ns charged for the firmware's work, host ns the board's program
        spent spinning in a wait (``pyb_sim.cpu_board._spent``)."""
        f = os.pread(self.sched, 128, 0).split()
        sim = charged = spun = 0
        if self.mem is not None:
            try:
                sim, charged, _, _, spun = struct.unpack("<qqqqq",
                                                         os.pread(self.mem, 40, self.address))
            except (OSError, struct.error):
                sim, charged, spun = 0, 0, 0
        return int(f[0]), int(f[1]), sim, charged, spun

    def _loop(self):
        # Look on time even on a busy host: a real-time thread (allowed to
        # root) wakes within microseconds, a normal one within the
        # scheduler's latency, several ms on a loaded machine, while the
        # interpreter runs at full speed. It needs the GIL each time: the
        # supervisor's thread hands it over within the switch interval.
        try:
            os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO,
                                  os.sched_param(RT_PRIORITY))
            self.realtime = True
        except (OSError, AttributeError):
            self.realtime = False
        self._fifo = self.realtime
        sys.setswitchinterval(min(sys.getswitchinterval(), self.tick))
        busy = False
        while not self._quit:
            self._sleep((self.tick if busy else max(self.tick, IDLE_TICK)) * 1e9)
            woke = time.monotonic_ns()
            with self.lock:
                if self.pid is None:
                    continue
                try:
                    busy = self._step(woke)
                except (OSError, ValueError, IndexError):
                    self._close()  # the process is gone

    def _sleep(self, ns):
        """Let ``ns`` pass asleep, as a real-time thread when allowed."""
        if self.realtime and not self._fifo:
            self._policy(True)
        time.sleep(ns / 1e9)

    def _pass(self, ns):
        """Let ``ns`` pass while the interpreter is stopped: on its CPU,
        spinning. A CPU that goes idle is slow to come
        back: a virtual machine's CPU gives its caches to other work, and
        the interpreter would then run its next stretch of code at a
        fraction of its speed, which the model charges to the board (the
        board ran about half as fast as calibrated). The spin runs as an
        ordinary thread, so the host's other work still gets the CPU."""
        if self.cpu_id is None or not self.spin:
            self._sleep(ns)
            return
        if self._fifo:
            self._policy(False)
        end = time.monotonic_ns() + ns
        while time.monotonic_ns() < end:
            os.sched_yield()
        if self.realtime:
            # real-time again before the interpreter goes on: as an ordinary
            # thread on its CPU the pacer would wait for the interpreter's
            # whole time slice (milliseconds) before its next look
            self._policy(True)

    def _policy(self, fifo):
        try:
            if fifo:
                os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO,
                                      os.sched_param(RT_PRIORITY))
            else:
                os.sched_setscheduler(threading.get_native_id(), os.SCHED_OTHER,
                                      os.sched_param(0))
            self._fifo = fifo
        except OSError:
            pass

    def _step(self, woke):
        k = self.slowdown
        self.stats["looks"] += 1
        now = time.monotonic_ns()
        stopped_now = 0  # ns of this look the process was stopped
        cpu, delay, sim, charged, spun = self._read()
        dt = now - self.t
        d_cpu = cpu - self.cpu
        d_delay = delay - self.delay
        # the counters are wall time, the pacer's stops and looks left out
        # (the interpreter is told of them): less the share of it the
        # process spent waiting for a CPU for other work (a busy host), as
        # in the whole interval. The wait the last look caused shows only
        # now (a stop's own is left out: ``_stop_for``).
        other = max(d_delay - self.last_look, 0) if self.cpu_id is not None else d_delay
        ran = d_cpu / (d_cpu + other) if d_cpu + other > 0 else 1.0
        # A simulated call is counted when it returns: one that began in an
        # earlier interval (a garbage collection inside it takes
        # milliseconds) is carried over, not cut at this interval's CPU time.
        raw_sim = max(sim - self.sim, 0)
        d_sim = raw_sim * ran
        d_sim += self.sim_carry
        self.sim_carry = min(max(d_sim - d_cpu, 0), SIM_CARRY_NS)
        d_sim = min(d_sim, d_cpu)
        # A wait that spins (the next tick of a fast timer) uses the CPU but
        # is board time passing, not the board's code: charged as code, it
        # cost a stop of ``slowdown`` times its length, after which the
        # callbacks that fell due meanwhile came all at once. A wait is
        # counted when it ends, often an interval after it began: what does
        # not fit into this interval's CPU time is carried, as the
        # simulation's work is.
        d_spin = max(spun - self.spun, 0) * ran + self.spin_carry
        self.spin_carry = min(max(d_spin - (d_cpu - d_sim), 0), SIM_CARRY_NS)
        d_spin = min(d_spin, d_cpu - d_sim)
        # + what the calls into the simulation cost the board's firmware
        d_board = d_cpu - d_sim - d_spin + max(charged - self.charged, 0) / k
        self.t, self.cpu, self.delay, self.sim, self.charged = now, cpu, delay, sim, charged
        self.spun = spun
        self.stats["board_ns"] += d_board
        self.stats["sim_ns"] += d_sim
        # The board's share accrues while it ran, waited for a CPU (a busy
        # host) or was stopped here, not while it slept (or waited for the
        # link): a board that slept does not then run faster than a PYBv1.1.
        # Time lost waiting for a CPU is made up, up to CATCH_UP_BOARD_NS.
        # The board's clock leaves out the simulation's work (the
        # interpreter's counter, stops excluded: pyb_sim.cpu_board), so the
        # board's share does not accrue while the simulation works.
        active = max(min(d_cpu + d_delay + self.stopped, dt) - d_spin, 0)
        left_out = raw_sim + self.clock_carry
        self.clock_carry = min(max(left_out - active, 0), SIM_CARRY_NS)
        active = max(active - left_out, 0)
        self.stopped = 0
        self.unpaid = min(self.unpaid + raw_sim, SIM_CARRY_NS)
        self.credit = min(self.credit + active / k - d_board, CATCH_UP_BOARD_NS / k)
        if self.credit < 0:
            # The simulation's work took wall time that the board's clock
            # left out: take it out of the stop instead, and tell the
            # interpreter, whose clock then takes it back in. The board has
            # still run its code at its speed, and its clock keeps up with
            # the wall clock (the link's), as a board's does.
            need = -self.credit * k
            pay = int(min(self.unpaid, need)) if self.mem_rw else 0  # it must be told
            self.unpaid -= pay
            self.repaid_total += pay
            self.stats["repaid_ns"] += pay
            self.credit += pay / k
            stopped_now = self._stop_for(need - pay, woke)
        if now > self.spread_at:
            self._spread()
        if self.cpu_id is not None:
            self.last_look = time.monotonic_ns() - woke - stopped_now
            self.looked_total += self.last_look
            self.stats["looked_ns"] += self.last_look
            self._tell(self.stopped_total + self.looked_total)
        return d_cpu > 0

    def _tell(self, kept):
        """Tell the interpreter the ns it was kept from running (stops, looks)
        and the simulation's work paid back."""
        if self.mem is not None and self.mem_rw:
            try:
                os.pwrite(self.mem, struct.pack("<qq", kept, self.repaid_total),
                          self.address + 16)
                self.stats["told_kept_ns"] = kept
            except OSError:
                pass

    def _stop_for(self, wall_ns, woke):
        """Stop the process until the wall clock has caught up with its debt
        (none: only to tell it its counters), in the look that began at
        ``woke``; returns how long it was stopped (ns)."""
        os.kill(self.pid, signal.SIGSTOP)
        self.stats["stops"] += 1
        t0 = time.monotonic_ns()
        try:
            self._pass(wall_ns)
            # Taking the stop costs the process CPU time (the signal, two
            # switches: about 13 us on a virtual machine), which is not the
            # board's code: the next look counts from here, inside the stop.
            f = os.pread(self.sched, 128, 0).split()
            cpu, delay = int(f[0]), int(f[1])
            self.stats["stop_cpu_ns"] += cpu - self.cpu
            self.cpu, self.delay = cpu, delay
        finally:
            # the interpreter leaves a stop that fell inside a simulated
            # call out of the simulation's work: told before it runs again
            took = time.monotonic_ns() - t0
            self.stopped_total += took
            look = t0 - woke if self.cpu_id is not None else 0
            self._tell(self.stopped_total + self.looked_total + look)
            os.kill(self.pid, signal.SIGCONT)
        self.stopped += took
        self.stats["stopped_ns"] += took
        return took


class Throttle:
    """The supervisor's side: a ``Pacer`` in a process of its own, told on
    its standard input which interpreter to pace. When the supervisor ends,
    the pacer sees its input close, lets the interpreter go on (SIGCONT)
    and ends too."""

    def __init__(self, slowdown, spin=True, sleep_ns=0):
        self.slowdown = float(slowdown)
        self.sleep_ns = float(sleep_ns)  # host CPU ns a sleep costs (``measure_sleep``)
        self.describe = "cpu: the board's code slowed %.1fx" % self.slowdown
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.environ.get("PYTHONPATH")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from pyb_sim.cpu import serve; serve()", repr(slowdown)]
            + ([] if spin else ["sleep"]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=here + (os.pathsep + path if path else "")))
        # paces from the first attach on: wait until it is ready
        if self.proc.stdout.readline() != b"ready\n":
            self.proc.wait()
            raise OSError("the CPU model's pacer did not start")

    def _say(self, line):
        try:
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def attach(self, pid, address):
        self._say("A %d %d\n" % (pid, address))

    def detach(self):
        self._say("D\n")

    def stats(self):
        """The pacer's counts since it started (ns): ``board_ns`` charged as
        the board's code, ``sim_ns`` left out as the simulation's,
        ``stops``/``stopped_ns``, ``looked_ns`` (its looks on the
        interpreter's CPU), ``told_kept_ns`` (stops and looks as last told
        to the interpreter), ``repaid_ns``."""
        self._say("S\n")
        try:
            return json.loads(self.proc.stdout.readline())
        except ValueError:
            return {}

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def serve(argv=None):
    """The pacer's process: ``A pid address`` / ``D`` lines on stdin."""
    argv = sys.argv[1:] if argv is None else argv
    pacer = Pacer(float(argv[0]), spin=argv[1:2] != ["sleep"])
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            parts = line.split()
            if parts[:1] == ["A"] and len(parts) == 3:
                pacer.attach(int(parts[1]), int(parts[2]))
            elif parts[:1] == ["D"]:
                pacer.detach()
            elif parts[:1] == ["S"]:
                with pacer.lock:
                    print(json.dumps(pacer.stats), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        pacer.close()


# --- the command line --------------------------------------------------------------
def add_arguments(ap):
    """``--cpu`` and ``--calibrate`` of ``pyb-bridge vboard``."""
    ap.add_argument("--cpu", choices=("pyboard", "host"), default="pyboard",
                    help="pyboard (default): the board's code runs at a PYBv1.1's speed "
                         "(calibrated on this machine, docs/virtual-board.md); host: as fast "
                         "as this machine runs it (--fast implies host)")
    ap.add_argument("--calibrate", action="store_true",
                    help="measure this machine's speed for --cpu pyboard again, print the "
                         "result and exit (otherwise it is measured once and kept in %s)"
                    % cache_path().replace(os.path.expanduser("~"), "~"))


def from_args(args, micropython, log):
    """The throttle the options ask for (None: --cpu host or --fast); exits
    after ``--calibrate``."""
    if args.calibrate:
        try:
            c = calibrate(micropython, force=True)
        except (OSError, RuntimeError) as e:
            raise SystemExit("vboard: calibration failed: %s" % e) from None
        print("cpu: this machine runs the board's code %.1fx as fast as a PYBv1.1 "
              "(%.0f ns per workload iteration, a PYBv1.1 %.0f; a sleep %.0f ns); kept in %s"
              % (c["slowdown"], c["host_ns_per_iter"], PYB_NS_PER_ITER, c["sleep_ns"],
                 c["file"]))
        raise SystemExit(0)
    if args.cpu == "host" or getattr(args, "fast", False):
        return None
    try:
        c = calibrate(micropython)
    except (OSError, RuntimeError) as e:
        raise SystemExit("vboard: cannot calibrate --cpu pyboard (%s); use --cpu host" % e) \
            from None
    if c["slowdown"] <= 1:
        log("cpu: this machine is not faster than a PYBv1.1 (%.2fx): the board runs at "
            "the host's speed" % c["slowdown"])
        return None
    try:
        t = Throttle(c["slowdown"], sleep_ns=c["sleep_ns"])
    except OSError as e:
        raise SystemExit("vboard: %s; use --cpu host" % e) from None
    t.describe = "cpu: PYBv1.1 speed, the board's code slowed %.1fx%s" % (
        c["slowdown"], "" if c["cached"] else " (calibrated now)")
    return t
