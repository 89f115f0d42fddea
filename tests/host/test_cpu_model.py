"""The virtual board's CPU model (pyb_sim.cpu, pyb_sim.cpu_board):
the throttle holds an interpreter to its share of the CPU, the interpreter's
counters leave the simulation out and charge the firmware's costs without
allocating, and the calibration is measured once, kept, and redone on
request. How close the model comes to a PYBv1.1 is a benchmark
(bench/perfbench.py, docs/virtual-board.md), not a test."""

import json
import os
import subprocess
import sys
import time

import pytest
from vboard_support import ROOT, env, needs_vboard

sys.path.insert(0, os.path.join(ROOT, "host"))
from pyb_sim import cpu  # noqa: E402

pytestmark = needs_vboard
MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")

COUNTERS = """
import sys
from pyb_sim import cpu_board
import pyb_sim
pyb = pyb_sim.install()
cpu_board.install(pyb_sim.board)
cpu_board.count_clock(pyb_sim.board)
cpu_board.patch(pyb)
"""


def run_mp(code):
    proc = subprocess.run([MICROPYTHON, "-c", code], capture_output=True, timeout=60,
                          env=dict(env(), MICROPYPATH=os.path.join(ROOT, "host")))
    assert proc.returncode == 0, proc.stderr.decode() + proc.stdout.decode()
    return proc.stdout.decode()


def test_counters_leave_the_simulation_out_and_charge_the_firmware():
    out = run_mp(COUNTERS + """
s = cpu_board._spent
for i in range(200):
    pyb.micros()
print('clock', s[0] > 0, s[1])
adc = pyb.ADC('X19')
for i in range(10):
    adc.read()
print('adc', s[1])
p = pyb.Pin('X3', pyb.Pin.OUT)
p.value(1)
print('pin', p.value(), s[1])
""")
    assert "clock True 0" in out
    assert "adc %d" % (10 * cpu_board_cost("adc")) in out
    assert "pin 1 %d" % (10 * cpu_board_cost("adc")) in out


def test_the_boards_time_functions_are_counted_whole():
    """time.ticks_us() and friends are C on the board; the simulation's are
    Python, counted as the simulation's (patch_time), nested calls once."""
    out = run_mp(COUNTERS + """
from pyb_sim import clock
cpu_board.patch_time(clock)
s = cpu_board._spent
cpu_board._over[0] = 100000000  # 100 ms a counted call: counts stand out
a = s[0]
clock.ticks_diff(clock.ticks_us(), clock.ticks_add(clock.ticks_ms(), 1))
n = (s[0] - a) // 100000000
print('calls', n, 'depth', cpu_board._state[0])
""")
    assert "calls 4 depth 0" in out, out


def test_machine_adc_pays_for_turning_the_adc_on_only_when_it_is_off():
    """pyb.ADC.read turns the ADC off after each read; machine.ADC.read_u16
    turns it on (4 us) only when it is off, then pays the conversion."""
    out = run_mp(COUNTERS + """
from pyb_sim import machine
cpu_board.patch_machine(machine)
s = cpu_board._spent
m = machine.ADC('X19')
pyb.ADC('X19').read()
c = s[1]
m.read_u16()
m.read_u16()
print('u16', s[1] - c)
""")
    conv = cpu_board_cost("adc_u16")
    assert "u16 %d" % (2 * conv + 4000) in out, out


def cpu_board_cost(name):
    out = run_mp("from pyb_sim import cpu_board\nprint(cpu_board.BOARD_NS[%r])" % name)
    return int(out)


def test_counters_allocate_nothing_in_an_interrupt_handler():
    """A Timer callback (heap locked) reads the clock, the ADC and a pin
    through the counted calls; the handler's time is the board's, not the
    simulation's."""
    out = run_mp(COUNTERS + """
import micropython
adc = pyb.ADC('X19')
p = pyb.Pin('X3', pyb.Pin.OUT)
n = [0]
def cb(t):
    pyb.micros()
    adc.read()
    p.value(not p.value())
    n[0] += 1
t = pyb.Timer(4, freq=1000, callback=cb)
micropython.heap_lock()
while n[0] < 20:
    pyb.millis()
micropython.heap_unlock()
t.deinit()
print('fired', n[0] >= 20, cpu_board._state[0])
""")
    assert "fired True 0" in out, out


def test_each_handler_pays_the_firmwares_dispatch_and_the_simulation_around_it_is_not_charged():
    """Board.run_irq's own work (finding what fell due, the heap lock) is
    the simulation's; the handler is the board's, plus BOARD_NS["irq"]."""
    out = run_mp(COUNTERS + """
s = cpu_board._spent
n = [0]
def cb(t):
    n[0] += 1
t = pyb.Timer(4, freq=1000, callback=cb)
c0 = s[1]
pyb.delay(50)
t.deinit()
print('handlers', n[0], 'charged', s[1] - c0, 'depth', cpu_board._state[0])
""")
    irq = cpu_board_cost("irq")
    assert irq > 0
    fired = int(out.split()[1])
    assert fired >= 50 and "charged %d depth 0" % (fired * irq) in out, out


def test_a_counted_call_adds_what_its_bracket_cannot_see():
    """The host time of calling into the simulation and back, which the
    bracket inside the call cannot time, is measured at install and added
    to each outermost counted call; nested calls add it once."""
    out = run_mp(COUNTERS + """
s = cpu_board._spent
print('measured', cpu_board._over[0] >= 0, cpu_board.outside_ns(200, 3) >= 0)
X = 1000000000  # 1 s: far above what a call's own bracket times
cpu_board._over[0] = X
a = s[0]
pyb.micros()
b = s[0]
pyb.elapsed_millis(0)  # counted, calls the counted clock inside: added once
c = s[0]
print('one', X <= b - a < 2 * X, 'nested', X <= c - b < 2 * X)
""")
    assert "measured True True" in out and "one True nested True" in out, out


def test_running_a_callback_from_the_simulation_counts_its_own_steps():
    """board_code's steps around the board's callback (leaving the count,
    the call, taking it up again) are measured at install and counted as
    the simulation's at each call from inside it; the board pays the
    firmware's dispatch (BOARD_NS["irq"]) instead. Outside the simulation
    nothing is added."""
    out = run_mp(COUNTERS + """
s = cpu_board._spent
print('measured', 0 <= cpu_board._irq_over[0] <= cpu_board.OUTSIDE_MAX_NS,
      0 <= cpu_board.board_code_ns(200, 3) <= cpu_board.OUTSIDE_MAX_NS)
X = 1000000000  # 1 s: far above what the bracket times
cpu_board._irq_over[0] = X
def two(_):
    cpu_board.board_code(len, ())
    cpu_board.board_code(len, ())
f = cpu_board._charged1(two, 0)
a = s[0]
f(None)
b = s[0]
cpu_board.board_code(len, ())  # not inside the simulation
c = s[0]
print('inside', 2 * X <= b - a < 3 * X, 'outside', c - b)
""")
    assert "measured True True" in out and "inside True outside 0" in out, out


def cpu_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def test_throttle_holds_the_interpreter_to_its_share():
    """A busy loop under a 20x throttle: over a second of wall time the
    interpreter uses no more CPU than 1/20 of it, plus what the model
    lets it make up (time it waited for a CPU) and one tick."""
    code = COUNTERS + """
print(cpu_board.address())
sys.stdin.readline()
x = 0
while True:
    x = (x + 1) & 0xFFFF
"""
    proc = subprocess.Popen([MICROPYTHON, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                            env=dict(env(), MICROPYPATH=os.path.join(ROOT, "host")))
    throttle = cpu.Throttle(20)  # the pacer's process, as the supervisor starts it
    try:
        addr = int(proc.stdout.readline())
        throttle.attach(proc.pid, addr)
        c0, t0 = cpu_ns(proc.pid), time.monotonic()
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        deadline = t0 + 30
        while time.monotonic() - t0 < 1.0 or cpu_ns(proc.pid) == c0:
            assert time.monotonic() < deadline, "the loop never ran"
            time.sleep(0.05)
        used = (cpu_ns(proc.pid) - c0) / 1e9
        wall = time.monotonic() - t0
        allowed = (wall + cpu.CATCH_UP_BOARD_NS / 1e9) / 20 \
            + 0.05
        assert used <= allowed, (used, wall)
    finally:
        proc.kill()
        proc.wait()
        throttle.close()
    assert throttle.proc.returncode == 0


def test_calibration_is_kept_and_redone_on_request(tmp_path):
    cache = str(tmp_path / "cpu.json")
    first = cpu.calibrate(MICROPYTHON, cache=cache)
    assert not first["cached"] and first["slowdown"] > 0
    with open(cache) as f:
        kept = json.load(f)
    assert [v["host_ns_per_iter"] for v in kept.values()] == [first["host_ns_per_iter"]]
    assert [v["sleep_ns"] for v in kept.values()] == [first["sleep_ns"]]
    assert first["sleep_ns"] > 0
    again = cpu.calibrate(MICROPYTHON, cache=cache)
    assert again["cached"] and again["host_ns_per_iter"] == first["host_ns_per_iter"]
    redone = cpu.calibrate(MICROPYTHON, cache=cache, force=True)
    assert not redone["cached"]


def test_a_damaged_cache_is_measured_again(tmp_path):
    cache = tmp_path / "cpu.json"
    cache.write_text("{not json")
    got = cpu.calibrate(MICROPYTHON, cache=str(cache))
    assert not got["cached"]
    assert json.loads(cache.read_text())  # rewritten whole


def test_a_cache_without_the_sleeps_cost_is_measured_again(tmp_path):
    cache = tmp_path / "cpu.json"
    cache.write_text(json.dumps({cpu._key(MICROPYTHON): {"host_ns_per_iter": 2500.0}}))
    got = cpu.calibrate(MICROPYTHON, cache=str(cache))
    assert not got["cached"] and got["sleep_ns"] > 0
    assert json.loads(cache.read_text())[cpu._key(MICROPYTHON)]["sleep_ns"] == got["sleep_ns"]


def vboard_cli(*args, cache_home):
    return subprocess.run(
        [sys.executable, "-c", "import sys; from pyb_bridge.cli import main; sys.exit(main())",
         "vboard", *args], capture_output=True, text=True, timeout=120,
        env=dict(env(), XDG_CACHE_HOME=str(cache_home)))


def test_calibrate_option_prints_one_line_and_keeps_it(tmp_path):
    proc = vboard_cli("--calibrate", cache_home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and "as fast as a PYBv1.1" in lines[0], proc.stdout
    assert (tmp_path / "pyb-bridge" / "cpu.json").exists()


@pytest.mark.parametrize("bad", ["fast", ""])
def test_bad_cpu_option_is_one_line(tmp_path, bad):
    proc = vboard_cli("--cpu", bad, cache_home=tmp_path)
    assert proc.returncode == 2
    assert "--cpu: invalid choice" in proc.stderr.strip().splitlines()[-1]


def test_sleeps_inside_a_simulated_call_are_not_the_simulations_work():
    """A bus transfer lets board time pass by sleeping (the wall-clock
    pacing); that sleep is not counted as host time of the simulation."""
    out = run_mp(COUNTERS.replace("cpu_board.count_clock(pyb_sim.board)", "") + """
import time
g = {'time': time}
t0 = time.ticks_us()
def paced(t):
    g['time'].sleep_us(20000)  # the pacing's sleep
    real(t)
real = pyb_sim.board.advance_to
pyb_sim.board.advance_to = paced
cpu_board.count_clock(pyb_sim.board, g)
i2c = pyb.I2C(1, pyb.I2C.CONTROLLER)
for i in range(5):
    try:
        i2c.send(b'x', 0x50)  # inside the simulated call: hw_enter .. hw_exit
    except OSError:
        pass  # nothing answers at 0x50: after the address byte's time
print('counted_ms', cpu_board._spent[0] // 1000000, 'wall_ms',
      time.ticks_diff(time.ticks_us(), t0) // 1000)
""")
    counted, wall = int(out.split()[1]), int(out.split()[3])
    assert wall >= 100  # five sleeps of 20 ms
    assert counted < 100, out


def test_a_sleep_costs_the_board_no_code_a_spin_costs_its_time():
    """A sleep costs the host CPU time of its own (the system call, waking
    up): each sleep adds the calibrated cost to the waits the pacer does
    not charge as the board's code; a short wait that spins adds its time
    only; a write adds the cost only when it waited for the link, and its
    time asleep is not counted as CPU time."""
    out = run_mp(COUNTERS.replace("cpu_board.install(pyb_sim.board)",
                                  "cpu_board.install(pyb_sim.board, 7000000)")
                 .replace("cpu_board.count_clock(pyb_sim.board)\n", "") + """
import time
now = [0]
class Link:  # a write that waits (us) for room on the link, on a clock of its own
    def write(self, buf):
        now[0] += int(buf)
        return len(buf)
g = {'time': time, '_out': Link()}
cpu_board.count_clock(pyb_sim.board, g)
s = cpu_board._spent
t = g['time']
a = s[4]
for i in range(3):
    t.sleep_us(2000)  # sleeps
b = s[4]
for i in range(3):
    t.sleep_us(100)  # spins
c = s[4]
t.sleep_ms(1)
d = s[4]
cpu_board._us = lambda: now[0]
g['_out'].write('0')  # room at once
e = s[4]
g['_out'].write('5000')  # waits 5 ms
print('sleeps', b - a, 'spins', c - b, 'sleep_ms', d - c, 'write', e - d, 'full', s[4] - e)
""")
    words = out.split()
    sleeps, spins, sleep_ms, write, full = (int(words[words.index(w) + 1])
                                            for w in ("sleeps", "spins", "sleep_ms", "write",
                                                      "full"))
    # each sleep adds the cost, the wait's own Python (microseconds) its time
    assert 3 * 7000000 <= sleeps < 4 * 7000000, out
    assert 3 * 100000 <= spins < 3 * 7000000, out  # no sleep's cost added
    assert 7000000 <= sleep_ms < 2 * 7000000, out
    assert write == 0 and full == 7000000, out


def test_a_handler_that_runs_inside_a_wait_is_the_boards_code():
    """An interrupt handler that runs while the board waits (in a spin) is
    the board's code: its time is not counted with the wait's."""
    out = run_mp(COUNTERS + """
import time
def busy(ms):
    t = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t) < ms:
        pass
wait = cpu_board._paused(lambda ms: cpu_board.board_code(busy, ms), cpu_board._COUNTS_ITS_OWN)
s = cpu_board._spent
a = s[4]
wait(30)
print('wait_ns', s[4] - a)
""")
    assert int(out.split()[1]) < 10000000, out


def test_the_pacers_looks_are_told_to_the_interpreter_with_its_stops():
    """On the interpreter's CPU each look of the pacer keeps the board's
    code from running: the pacer tells the interpreter its stops and its
    looks together, as it tells the stops alone, so that neither is
    counted as the simulation's work or the board's."""
    code = COUNTERS + """
import time
print(cpu_board.address())
sys.stdin.readline()
x = 0
t0 = time.ticks_ms()
while time.ticks_diff(time.ticks_ms(), t0) < 1000:
    x = (x + 1) & 0xFFFF
print(cpu_board._spent[2])
sys.stdin.readline()
"""
    proc = subprocess.Popen([MICROPYTHON, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                            env=dict(env(), MICROPYPATH=os.path.join(ROOT, "host")))
    throttle = cpu.Throttle(20)
    try:
        throttle.attach(proc.pid, int(proc.stdout.readline()))
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        seen = int(line) if line.strip().isdigit() else line + proc.stdout.read()
        stats = throttle.stats()
    finally:
        proc.kill()
        proc.wait()
        throttle.close()
    assert stats["stops"] > 0 and stats["looked_ns"] > 0, stats
    assert stats["told_kept_ns"] == stats["stopped_ns"] + stats["looked_ns"], stats
    assert isinstance(seen, int), seen
    assert stats["stopped_ns"] < seen <= stats["told_kept_ns"], (seen, stats)


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_the_interpreter_is_not_left_stopped_when_the_supervisor_goes():
    """The pacer stops the interpreter most of the time at 1000x; when the
    supervisor's side closes, the interpreter goes on running."""
    code = COUNTERS + """
print(cpu_board.address())
while True:
    pass
"""
    proc = subprocess.Popen([MICROPYTHON, "-c", code], stdout=subprocess.PIPE,
                            env=dict(env(), MICROPYPATH=os.path.join(ROOT, "host")))
    throttle = cpu.Throttle(1000)
    try:
        throttle.attach(proc.pid, int(proc.stdout.readline()))
        deadline = time.monotonic() + 30
        while proc_state(proc.pid) != "T":
            assert time.monotonic() < deadline, "the pacer never stopped the interpreter"
            time.sleep(0.01)
        throttle.close()
        assert throttle.proc.returncode == 0
        assert proc_state(proc.pid) != "T"
    finally:
        proc.kill()
        proc.wait()
        throttle.close()


REALTIME = COUNTERS.replace("cpu_board.count_clock(pyb_sim.board)\n", "") + """
import time
from pyb_sim import vboard_agent
wall = vboard_agent._realtime(pyb_sim.board, cpu_board.excluded_ns)
cpu_board.count_clock(pyb_sim.board, vboard_agent.__dict__)
us = time.ticks_us

def busy(ms):  # host time passing while this process runs
    t = us()
    while time.ticks_diff(us(), t) < ms * 1000:
        pass
"""

# the same, with the clock of a CPU model at a slowdown of 10 (the pacer's counters)
REALTIME_10X = REALTIME.replace(
    "wall = vboard_agent._realtime(pyb_sim.board, cpu_board.excluded_ns)",
    "wall = vboard_agent._realtime(pyb_sim.board, cpu_board.excluded_ns, "
    "cpu_board._spent, 10.0)")


def test_the_boards_clock_leaves_out_the_simulations_work():
    """The board's clock follows the wall clock while the board's code runs
    and stands still while the simulation's Python works (a simulated call
    costs the board what the firmware's C code costs, not the host's time)."""
    out = run_mp(REALTIME + """
slow = cpu_board._charged0(lambda: busy(50), 0)  # a simulated call taking 50 ms of host time
t = pyb.micros()
slow()
sim_us = pyb.micros() - t
t = pyb.micros()
busy(50)  # the board's own code
board_us = pyb.micros() - t
print('sim', sim_us, 'board', board_us)
""")
    sim_us, board_us = int(out.split()[1]), int(out.split()[3])
    # (the count of the simulation's time is read to the us: 49,999 was seen)
    assert board_us >= 49990, out
    assert sim_us < 25000, out


def test_a_stop_inside_a_simulated_call_is_board_time():
    """The CPU model's supervisor tells the interpreter how long it kept it
    stopped (cpu_board._spent[2]); a stop that falls inside a simulated
    call is left out of the simulation's work and stays on the board's
    clock. Here the stop is written as the supervisor writes it."""
    out = run_mp(REALTIME + """
def stopped():
    busy(40)  # as if stopped for 40 ms
    cpu_board._spent[2] += 40000000
call = cpu_board._charged0(stopped, 0)
s0 = cpu_board._spent[0]
t = pyb.micros()
call()
print('counted_ms', (cpu_board._spent[0] - s0) // 1000000, 'board_ms', (pyb.micros() - t) // 1000)
""")
    counted, board = int(out.split()[1]), int(out.split()[3])
    assert counted < 20, out
    assert board >= 40, out


def test_clock_reads_faster_than_the_wall_clock_step_on_without_sleeping():
    """Between the CPU model's stops the board's code runs at the host's
    speed: reads of the clock closer together than 1 us each move the
    clock on by 1 us (a read's least cost), without waiting for the wall
    clock."""
    out = run_mp(REALTIME + """
sleeps = [0]
real_sleep = vboard_agent.time.sleep_us
def counted_sleep(n):
    sleeps[0] += 1
    real_sleep(n)
vboard_agent.time.sleep_us = counted_sleep
last = pyb.micros()
steps = 0
for i in range(2000):
    now = pyb.micros()
    steps += now > last
    last = now
print('steps', steps, 'sleeps', sleeps[0])
""")
    assert "steps 2000 sleeps 0" in out, out


PACED = COUNTERS + """
import select
print(cpu_board.address())
sys.stdin.readline()
p = select.poll()
p.register(sys.stdin, select.POLLIN)
"""


def run_paced(loop, slowdown, cpu_ms):
    """Run ``PACED + loop`` (a loop until ``p.poll(0)``, then prints) in an
    interpreter that a real Throttle(``slowdown``) paces, until it has used
    ``cpu_ms`` of CPU; what it printed."""
    proc = subprocess.Popen([MICROPYTHON, "-c", PACED + loop], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                            env=dict(env(), MICROPYPATH=os.path.join(ROOT, "host")))
    throttle = cpu.Throttle(slowdown)
    try:
        addr = int(proc.stdout.readline())
        throttle.attach(proc.pid, addr)
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        c0 = cpu_ns(proc.pid)
        while cpu_ns(proc.pid) - c0 < cpu_ms * 1_000_000:
            assert time.monotonic() < deadline, "the loop never ran"
            time.sleep(0.05)
        proc.stdin.write(b"stop\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        throttle.close()
    return out.decode()


def test_the_supervisor_tells_the_interpreter_its_stops():
    """A paced interpreter: the pacer writes the time it kept the process
    stopped into the interpreter's counters before letting it run on."""
    # until it has run for 20 ms of CPU: at 1/20 of the CPU it was stopped meanwhile
    out = run_paced("""
x = 0
while not p.poll(0):
    for i in range(1000):
        x = (x + 1) & 0xFFFF
print('stopped_ns', cpu_board._spent[2])
""", 20, 20)
    stopped = int(out.split()[-1])
    assert stopped >= 100_000_000, out  # 20 ms of CPU at 1/20: 380 ms stopped


def test_short_waits_of_the_pacing_spin_and_long_ones_sleep():
    """The wall-clock pacing waits for a fast timer's next tick by spinning
    (a virtual machine's CPU that goes idle comes back slowly, and that
    time would be charged to the board); longer waits sleep. Neither is
    counted as the simulation's work."""
    out = run_mp(COUNTERS.replace("cpu_board.count_clock(pyb_sim.board)", "") + """
import time
slept = []
class Real:
    def sleep_us(self, n):
        slept.append(n)
        time.sleep_us(n)
    sleep_ms = sleep = sleep_us
t = cpu_board._Time(Real())
s0 = cpu_board._spent[0]
t0 = time.ticks_us()
t.sleep_us(200)
short = time.ticks_diff(time.ticks_us(), t0)
t.sleep_us(cpu_board.SPIN_US + 1000)
print('slept', slept == [cpu_board.SPIN_US + 1000], 'short_at_least_200', short >= 200,
      'counted_us', (cpu_board._spent[0] - s0) // 1000)
""")
    assert "slept True" in out, out  # the short wait spun, the long one slept
    assert "short_at_least_200 True" in out, out
    counted = int(out.split()[-1])
    assert counted < 200, out


def test_a_spinning_wait_is_board_time_passing_not_the_boards_code():
    """A wait that spins (up to SPIN_US, the next tick of a fast timer)
    uses the CPU; the interpreter counts it (cpu_board._spent[4]) and the
    pacer does not charge it as the board's code: a loop of such waits is
    stopped for a small part of what its CPU time would cost as code
    (``slowdown`` times as long)."""
    out = run_paced("""
import time
t = cpu_board._Time(time)
n = 0
while not p.poll(0):
    t.sleep_us(200)
    n += 1
print('waits', n, 'spun_ns', cpu_board._spent[4], 'stopped_ns', cpu_board._spent[2])
""", 20, 40)
    f = out.split()
    waits, spun, stopped = int(f[1]), int(f[3]), int(f[5])
    assert spun >= waits * 200_000 * 0.9, out
    # 40 ms of CPU, nearly all of it spinning: as code it cost 760 ms of stops
    assert stopped < 200_000_000, out


def test_between_stops_the_boards_clock_runs_at_board_speed_at_most_1_ms_ahead():
    """The board's code runs at the host's speed between the pacer's stops:
    there the board's clock runs ``slowdown`` times as fast as the wall
    clock, up to 1 ms ahead of it (so that times taken close together are
    a board's); a stop the pacer reports lets the wall clock catch up
    without moving the board's clock twice."""
    out = run_mp(REALTIME_10X
        + """
def stop(ms):  # as the pacer's stop: the wall clock moves on, the board's code does not run
    busy(ms)
    cpu_board._spent[2] += int(ms * 1000000)
stop(3)  # unpaced until here: the wall clock catches up with the board's
t = pyb.micros()
w = us()
busy(0.05)  # 50 us of the board's code at the host's speed: 0.5 ms on the board
ahead = pyb.micros() - t
wall_us = time.ticks_diff(us(), w)
busy(1)  # 1 ms more: the board's clock stays 1 ms ahead at most
capped = pyb.micros() - t
wall2_us = time.ticks_diff(us(), w)
t = pyb.micros()
stop(20)
after_stop = pyb.micros() - t
print('ahead', ahead, 'wall', wall_us, 'capped', capped, 'wall2', wall2_us,
      'after_stop', after_stop)
""")
    f = out.split()
    ahead, wall_us, capped, wall2_us, after_stop = (int(x) for x in f[1::2])
    assert ahead >= 3 * wall_us, out  # at board speed, ahead of the wall clock
    assert wall2_us <= capped <= wall2_us + 1100, out  # by at most 1 ms (+ the reads' steps)
    # the stop counted once, not slowdown times; less the lead the board's
    # clock had when it began (at most 1 ms + the reads' steps, as above)
    assert 20000 - 1100 <= after_stop <= 21000, out


# the clock of REALTIME_10X, whose count of the simulation's work can be followed by a stop
# of 20 ms, told as the pacer tells it, right after the clock has read it
REALTIME_10X_RACE = REALTIME.replace(
    "wall = vboard_agent._realtime(pyb_sim.board, cpu_board.excluded_ns)",
    """stop_next = [0]
def ex():
    v = cpu_board.excluded_ns()
    if stop_next[0]:  # (busy, defined below, is looked up when a stop is asked for)
        stop_next[0] = 0
        busy(20)
        cpu_board._spent[2] += 20000000
    return v
wall = vboard_agent._realtime(pyb_sim.board, ex, cpu_board._spent, 10.0)""")


def test_a_stop_between_the_clocks_two_reads_is_not_taken_as_the_boards_code():
    """The board's clock reads the wall clock less the simulation's count, then the stops the
    pacer told; the pacer stops the process at any instruction, so a stop can land between the
    two. The clock then reads the wall clock again: otherwise it takes the stop off before its
    time is seen, and the next read counts that time as the board's code, slowdown times, up to
    the clock's lead (1 ms ahead of the wall clock)."""
    out = run_mp(REALTIME_10X_RACE + """
busy(3)
cpu_board._spent[2] += 3000000  # a stop: the wall clock catches up with the board's
t = pyb.micros()
w = us()
stop_next[0] = 1
pyb.micros()  # the read the stop lands in
lead = pyb.micros() - t - time.ticks_diff(us(), w)
print('lead', lead, 'stop_seen', time.ticks_diff(us(), w) >= 20000)
""")
    f = out.split()
    assert f[3] == "True", out
    assert int(f[1]) < 500, out  # not 1000: the stop's 20 ms were not counted as code


REALTIME_10X_SWING = REALTIME.replace(
    "wall = vboard_agent._realtime(pyb_sim.board, cpu_board.excluded_ns)",
    """swing = [0]
def ex():
    return cpu_board.excluded_ns() + swing[0]
wall = vboard_agent._realtime(pyb_sim.board, ex, cpu_board._spent, 10.0)""")


def test_a_swing_of_the_simulations_count_is_carried_not_taken_as_code():
    """The wall clock less the simulation's count, both timed to the us,
    swings either way from one clock read to the next. A swing back is
    carried into the next read, where the swing forward cancels it: were it
    dropped, the swing forward would count as the board's code, slowdown
    times over (``bench/callcost.py``, five runs each way: the Sampler's
    4-channel tick 33-92 us of board time, median 42, against 26-34 with
    the swings carried)."""
    out = run_mp(REALTIME_10X_SWING + """
def trial():
    t1 = wall()
    h1 = us()
    swing[0] = 90000  # the count jumps 90 us ahead: the clock would go back
    wall()
    swing[0] = 0  # and back again
    t3 = wall()
    return t3 - t1, time.ticks_diff(us(), h1)
for i in range(50):  # a trial the host did not interrupt
    busy(3)
    cpu_board._spent[2] += 3000000  # a stop: the wall clock catches up with the board's
    moved, host_us = trial()
    if host_us < 20:
        break
print('moved', moved, 'host_us', host_us)
""")
    f = out.split()
    assert int(f[3]) < 20, out
    # 10x the host time between the reads (under 200 us), not 900 us more
    assert int(f[1]) < 400000, out


def test_simulation_time_paid_back_by_the_pacer_returns_to_the_boards_clock():
    """The pacer shortens a stop by simulation time the board's clock left
    out and writes what it paid back into the interpreter's counters
    (cpu_board._spent[3]): the board's clock takes it back in, once, not
    slowdown times as the board's own code; the work stays counted."""
    out = run_mp(REALTIME_10X
        + """
slow = cpu_board._charged0(lambda: busy(30), 0)  # 30 ms of the simulation's work
t = pyb.micros()
slow()
left_out = pyb.micros() - t
t = pyb.micros()
e0 = cpu_board.excluded_ns()
s0 = cpu_board._spent[0]
cpu_board._spent[3] += 30000000  # as the pacer writes it, shortening a stop
e1 = cpu_board.excluded_ns()
s1 = cpu_board._spent[0]
repaid = pyb.micros() - t
print('left_out', left_out, 'repaid', repaid, 'excluded_less_ms', (e0 - e1) // 1000000,
      'work_counted_still', s1 == s0)
""")
    f = out.split()
    left_out, repaid = int(f[1]), int(f[3])
    assert left_out < 15000, out  # the call stood the clock still
    assert 28500 <= repaid <= 31500, out  # given back once, not 10 times
    assert f[5] == "30" and f[7] == "True", out


def test_the_pacer_pays_back_simulation_time_out_of_its_stops():
    """A paced interpreter that alternates simulated calls and its own code:
    the pacer pays some of the simulation's time back out of its stops
    (never more than the simulation took) and tells the interpreter."""
    out = run_paced("""
import time
us = time.ticks_us

def sim():
    t = us()
    while time.ticks_diff(us(), t) < 100:
        pass
call = cpu_board._charged0(sim, 0)
x = 0
while not p.poll(0):
    call()
    for i in range(300):
        x = (x + 1) & 0xFFFF
print('sim_ns', cpu_board._spent[0], 'repaid_ns', cpu_board._spent[3])
""", 20, 40)
    f = out.split()
    sim, repaid = int(f[-3]), int(f[-1])
    assert 0 < repaid <= sim, out


def test_the_dispatch_is_counted_whole_but_the_boards_code_in_it():
    """cpu_board.counted: the interrupt dispatch of pyb_sim.preempt counted
    whole as the simulation's work; the callbacks it runs
    (cpu_board.board_code) are the board's code, not counted."""
    out = run_mp(REALTIME + """
s = cpu_board._spent
def dispatch(_):
    busy(5)  # the simulation's work
    cpu_board.board_code(busy, 5)  # a callback
f = cpu_board.counted(dispatch)
a = s[0]
f(None)
print('counted', s[0] - a, 'depth', cpu_board._state[0])
""")
    f = out.split()
    assert 5000000 <= int(f[1]) < 7000000 and f[3] == "0", out


# REALTIME_10X with the waits of the CPU model's clock
REALTIME_10X_WAITS = REALTIME_10X.replace("cpu_board._spent, 10.0)",
                                          "cpu_board._spent, 10.0, cpu_board._waited)")


def test_a_wait_passes_on_the_boards_clock_as_on_the_wall_clock():
    """The board's code runs ``slowdown`` times as fast as the wall clock
    between the pacer's stops, but a wait inside the simulation (a sleep,
    a write waiting for the pipe to the link) is board time passing: 50 us
    of it is 50 us on the board, not 0.5 ms; a callback that runs inside
    the wait is the board's code again."""
    out = run_mp(REALTIME_10X_WAITS + """
wait = cpu_board._paused(busy)
def measured(fn, ms):
    busy(3)  # as the pacer's stop: the wall clock catches up with the board's
    cpu_board._spent[2] += 3000000
    t = pyb.micros()
    w = us()
    fn(ms)
    return pyb.micros() - t, time.ticks_diff(us(), w)
def in_wait(ms):
    cpu_board.board_code(busy, ms)
print('waited', *measured(wait, 0.05), 'code', *measured(busy, 0.05),
      'callback', *measured(cpu_board._paused(in_wait), 0.05))
""")
    f = out.split()
    waited, wall_w, code, wall_c, cb, wall_cb = (int(f[i]) for i in (1, 2, 4, 5, 7, 8))
    # (+ the wrapper's own host time, which is the board's code at 10x)
    assert waited <= wall_w * 3 // 2 + 20, out
    assert code >= 3 * wall_c, out
    assert cb >= 3 * wall_cb, out
