"""The interpreter's half of the virtual board's CPU model (``--cpu pyboard``).

The supervisor (``pyb_sim.cpu``) slows the interpreter process down to a
PYBv1.1's speed. The simulated hardware is Python too, and costs the host far
more than the firmware's C code costs the board; so this module counts the
host time spent inside the simulation (``board.hw_enter`` .. ``hw_exit``,
``read_time``, ``advance_to``), less the interrupt handlers that run inside it
(they are the board's own code), in one 64-bit counter the supervisor reads
from this process's memory. That time is not charged to the board: what a
hardware call costs the board is the virtual time the simulation lets pass
for it (bus bytes at the bus speed, a clock read, a conversion).

The simulated pyb's functions that a program calls in a tight loop or in an
interrupt handler (the clock, ADC.read, Pin.value, LED, DAC.write) are
counted whole, so their Python code is not charged to the board; each is
charged instead what the firmware's C code costs the board (``BOARD_NS``;
``USB_VCP.write`` too, whose waits for the link are board time passing,
sources in docs/virtual-board.md). Calls that let board time pass (delays,
bus transfers) are left to the simulated clock, which charges their time.

Nothing here allocates once installed, so it runs inside interrupt handlers.
"""

import array
import time

_us = time.ticks_us  # time.time_ns would allocate (a long int), ticks_us does not
_diff = time.ticks_diff
# read by the supervisor: host ns spent in the simulation, board ns charged
# for the firmware's work behind a call (BOARD_NS). "l" is a C long, 64 bits
# on the 64-bit unix port; the items of a "q" array allocate when read.
_spent = array.array("l", [0, 0, 0, 0, 0])
# [2]: ns the supervisor kept this process stopped (SIGSTOP), written by it:
# a stop inside a simulation call is board time, not the simulation's work.
# [3]: ns of the simulation's work the supervisor paid back, written by it:
# it shortened its stops by that much, so the board's clock takes that time
# back in (the board ran its code at its speed all the same, and its clock
# keeps up with the wall clock).
# [4]: host ns the board's program spent spinning in a wait (a wait of up to
# SPIN_US), and the CPU time its sleeps cost the host (``_sleep_ns``): it
# uses the CPU, but it is board time passing, not the board's code, and the
# supervisor does not charge it as code.
# depth of simulation calls; when (us) the outermost began; _spent[2] then
_state = array.array("l", [0, 0, 0])
# The board's program waiting inside the simulation (its sleeps, a write that
# waits for the pipe to the link, a poll): that wall time is board time
# passing at the wall clock's rate, not the board's code, which the board's
# clock runs ``slowdown`` times as fast (pyb_sim.vboard_agent._realtime).
# [0] host ns waited so far, the pacer's stops left out; [1] depth of waits;
# [2] when (us) the outermost began or went on after an interrupt handler;
# [3] _spent[2] then.
_waited = array.array("l", [0, 0, 0, 0])
# Host ns of a counted call that its bracket cannot see (calling the
# simulation's Python function and leaving it, beyond what calling a C
# function costs, which the board pays too): added to each outermost
# counted call; measured by ``install`` (``outside_ns``).
_over = array.array("l", [0])
# Host ns that running the board's code from inside the simulation costs
# beyond the code itself (``board_code``'s own steps and the call): the
# firmware's dispatch is charged instead (BOARD_NS["irq"]). Added to the
# count at each such call; measured by ``install`` (``board_code_ns``).
_irq_over = array.array("l", [0])
# Host CPU ns one sleep costs this process beyond the wait (the system call,
# the timer, waking up again), measured by the supervisor's calibration
# (``pyb_sim.cpu.measure_sleep``): added to _spent[4] at each sleep, and at
# each write or poll that blocked (took BLOCKED_US or more).
_sleep_ns = array.array("l", [0])
BLOCKED_US = 50




def address():
    """Where the counters live in this process (for the supervisor)."""
    import uctypes

    return uctypes.addressof(_spent)


def excluded_ns():
    """Host ns of the simulation's work so far, the call in progress
    included: what the board's clock leaves out of the wall clock
    (``pyb_sim.vboard_agent``), so that the simulation's Python takes no
    board time, as the firmware's C code behind a call takes next to none
    (what it does take is charged, ``BOARD_NS``), less what the supervisor
    paid back by stopping the process for less (``_spent[3]``). Allocates
    nothing."""
    st = _state
    if st[0] == 0:
        return _spent[0] - _spent[3]
    d = _diff(_us(), st[1]) * 1000 - (_spent[2] - st[2])
    return _spent[0] - _spent[3] + (d if d > 0 else 0)


def _wait_in():
    w = _waited
    if w[1] == 0:
        w[2] = _us()
        w[3] = _spent[2]
    w[1] += 1


def _wait_add():
    # the wait so far into _waited[0] (an interrupt handler begins, or the wait ends)
    w = _waited
    d = _diff(_us(), w[2]) * 1000 - (_spent[2] - w[3])
    if d > 0:
        w[0] += d


def _wait_out():
    w = _waited
    w[1] -= 1
    if w[1] == 0:
        _wait_add()


def _enter():
    st = _state
    if st[0] == 0:
        st[1] = _us()
        st[2] = _spent[2]
    st[0] += 1


def _leave():
    st = _state
    st[0] -= 1
    if st[0] == 0:
        _spent[0] += _diff(_us(), st[1]) * 1000 - (_spent[2] - st[2]) + _over[0]


def _count_off(t, s2):
    # The simulation's count stops at ``t`` (us), _spent[2] ``s2`` then,
    # inside a simulated call (the board's code or a wait runs there);
    # returns the depth to take it up again at (0: it was not counting).
    st = _state
    depth = st[0]
    if depth:
        _spent[0] += _diff(t, st[1]) * 1000 - (s2 - st[2])
        st[0] = 0
    return depth


def _count_on(depth, t):
    # ... and goes on from ``t`` (us)
    if depth:
        st = _state
        st[0] = depth
        st[1] = t
        st[2] = _spent[2]


def _wrap1(fn):
    # one fixed argument: *args would allocate a tuple, which an interrupt
    # handler (heap locked) cannot
    def counted(a):
        _enter()
        try:
            return fn(a)
        finally:
            _leave()

    return counted


def _wrap0(fn):
    def counted():
        _enter()
        try:
            return fn()
        finally:
            _leave()

    return counted


def install(board, sleep_ns=0):
    """Count the simulation's host time on ``board`` (a ``pyb_sim.board.Board``);
    ``sleep_ns``: the host CPU ns a sleep costs this process (``_sleep_ns``)."""
    enter, leave = board.hw_enter, board.hw_exit
    _sleep_ns[0] = max(int(sleep_ns), 0)
    _over[0] = outside_ns()
    _irq_over[0] = board_code_ns()

    def hw_enter():
        _enter()
        enter()

    def hw_exit():
        leave()
        _leave()

    irq_ns = BOARD_NS["irq"]

    def handler(fn, arg):
        # Inside Board.run_irq: the handler is the board's code, not
        # counted; the simulation's work around it (finding what fell due,
        # the heap lock) is. The board pays the firmware's dispatch instead.
        try:
            board_code(fn, arg)
        finally:
            _spent[1] += irq_ns

    board.hw_enter = hw_enter
    board.hw_exit = hw_exit
    board.call_handler = handler
    board.charge = _charge
    # the simulated clock below the wall-clock pacing, which sleeps: a sleep
    # is board time passing, not the simulation's work
    board.advance_to = _wrap1(board.advance_to)


def board_code(fn, arg):
    """Run ``fn(arg)``, the board's own code, from inside the simulation (an
    interrupt handler, a scheduled function): neither the simulation's work
    nor a wait (a handler that lands in a spinning sleep)."""
    depth = _count_off(_us(), _spent[2])
    waiting = _waited[1]
    if waiting:
        _wait_add()
        t = _us()
        s2 = _spent[2]
    try:
        fn(arg)
    finally:
        if waiting:
            # the wait it landed in leaves it out (``_paused``)
            _in_wait[1] += _diff(_us(), t) * 1000 - (_spent[2] - s2)
        if depth:
            _count_on(depth, _us())
            _spent[0] += _irq_over[0]
        if _waited[1]:
            _waited[2] = _us()
            _waited[3] = _spent[2]


def counted(fn):
    """``fn`` (one argument) counted whole as the simulation's work, as the
    simulated calls of ``patch`` are: the interrupt dispatch of
    ``pyb_sim.preempt``, of which only the callbacks are the board's
    (``board_code``)."""
    return _charged1(fn, 0)


def _charge(ns):
    """What the firmware spent on a call, when the hardware's state decides
    it (the simulation calls this; machine.ADC turning the ADC on)."""
    _spent[1] += ns


def _zero(a):
    return 0


OUTSIDE_MAX_NS = 1000  # what outside_ns may give at most (a busy host's measure)


def outside_ns(n=2000, runs=7):
    """Host ns a counted call costs beyond its bracket and beyond a call of
    a C function (``len``): the least of ``runs`` loops of ``n`` calls (a
    busy host only adds to each), at most OUTSIDE_MAX_NS. Counted as the
    simulation's, not charged to the board: an overestimate would make the
    board's code faster than a PYBv1.1's, so the least is kept."""
    probe = _charged1(_zero, 0)
    x = _state
    got = []
    for _ in range(runs):
        t0 = _us()
        for _ in range(n):
            len(x)
        t1 = _us()
        s0 = _spent[0]
        for _ in range(n):
            probe(x)
        t2 = _us()
        s1 = _spent[0]
        got.append(((_diff(t2, t1) - _diff(t1, t0)) * 1000 - (s1 - s0)) // n)
    return min(max(min(got), 0), OUTSIDE_MAX_NS)


def _nothing(a):
    pass


def board_code_ns(n=2000, runs=7):
    """Host ns a ``board_code`` call costs beyond what its bracket counts,
    with a callback that does nothing: the least of ``runs`` loops of
    ``n`` calls inside a counted call, at most OUTSIDE_MAX_NS (the least,
    as for ``outside_ns``: an overestimate would run the board's code
    faster than a PYBv1.1's)."""
    got = []

    def loop(k):
        for _ in range(k):
            board_code(_nothing, None)

    inside = _charged1(loop, 0)
    keep = _irq_over[0]
    _irq_over[0] = 0
    try:
        for _ in range(runs):
            t0 = _us()
            s0 = _spent[0]
            inside(n)
            got.append((_diff(_us(), t0) * 1000 - (_spent[0] - s0)) // n)
    finally:
        _irq_over[0] = keep
    return min(max(min(got), 0), OUTSIDE_MAX_NS)


_SLEEPS = 0  # _paused: the call always sleeps
_MAY_BLOCK = 1  # it has slept when it took BLOCKED_US or more
_COUNTS_ITS_OWN = 2  # it tells its sleeps itself (``_spin_or_sleep``)
# The outermost wait in progress: [0] wall ns it slept (stops left out),
# [1] wall ns of the board's code that ran inside it (``board_code``)
_in_wait = array.array("l", [0, 0])


def _wait_begin():
    # a wait begins (``_paused``, ``_Out.write``): True for the outermost
    if _waited[1]:
        _wait_in()
        return False
    _in_wait[0] = 0
    _in_wait[1] = 0
    _wait_in()
    return True


def _wait_end(outer, t, s2):
    # A wait that began at ``t`` (us), _spent[2] ``s2`` then, ends: all its
    # host time but its sleeps and the board's code run inside it is CPU
    # time that is not the board's code (a spin, the wait's own Python),
    # and each sleep costs the CPU ``_sleep_ns``; both go to _spent[4].
    # Returns when it ended (us).
    _wait_out()
    now = _us()
    if outer:
        w = _in_wait
        d = _diff(now, t) * 1000 - (_spent[2] - s2) - w[0] - w[1]
        if d > 0:
            _spent[4] += d
    return now


def _slept(t, s2, always):
    # the sleeping call that began at ``t`` (us), _spent[2] ``s2`` then, has
    # returned: its time (stops left out) was asleep if ``always`` or if it
    # took BLOCKED_US or more
    d = _diff(_us(), t) * 1000 - (_spent[2] - s2) - _in_wait[1]
    if always or d >= BLOCKED_US * 1000:
        if _waited[1] == 1:
            _in_wait[0] += d if d > 0 else 0
        _spent[4] += _sleep_ns[0]


def _paused(fn, sleep=_SLEEPS):
    """``fn`` (one argument), a wait: its time passes on the board's clock as
    a wait, it is not the simulation's work, and not the board's code
    either (``_wait_end``; ``sleep``: when it sleeps)."""

    def call(a):
        t = _us()
        s2 = _spent[2]
        depth = _count_off(t, s2)
        outer = _wait_begin()
        try:
            if sleep == _COUNTS_ITS_OWN:
                return fn(a)
            t1 = _us()
            s3 = _spent[2]
            try:
                return fn(a)
            finally:
                _slept(t1, s3, sleep == _SLEEPS)
        finally:
            _count_on(depth, _wait_end(outer, t, s2))

    return call


SPIN_US = 300  # waits of the wall-clock pacing up to this long spin instead of sleeping


def _spin_or_sleep(sleep_us):
    # in a _paused wait, which counts a spin's time
    def wait(us):
        if us > SPIN_US:
            t = _us()
            s2 = _spent[2]
            sleep_us(us)
            _slept(t, s2, True)
            return
        t = _us()
        while _diff(_us(), t) < us:
            pass

    return wait


class _Time:
    """The time module as the wall-clock pacing sees it: its sleeps (board
    time passing, as a bus transfer or a delay takes it) are not counted as
    the simulation's work, even inside a simulated call. A wait of up to
    SPIN_US (the next tick of a fast timer) spins: a virtual machine's CPU
    that goes idle for it comes back slowly, and the code that runs next
    (the callback) would take several times its CPU time, charged to the
    board (bench/cpuspin.py measures the same for the pacer's stops)."""

    def __init__(self, real):
        for name in dir(real):
            if not name.startswith("__"):
                setattr(self, name, getattr(real, name))
        self.sleep_us = _paused(_spin_or_sleep(real.sleep_us), _COUNTS_ITS_OWN)
        self.sleep_ms = _paused(real.sleep_ms)
        self.sleep = _paused(real.sleep)


class _Out:
    """The interpreter's stdout as the USB link sees it: a write that waits
    for room on the link is board time passing, not the simulation's work."""

    def __init__(self, real):
        self.real = real

    def write(self, buf, off=0, n=-1):
        t = _us()
        s2 = _spent[2]
        depth = _count_off(t, s2)
        outer = _wait_begin()
        try:
            if n < 0:
                return self.real.write(buf)
            return self.real.write(buf, off, n)
        finally:
            _slept(t, s2, False)  # it waited for room on the link
            _count_on(depth, _wait_end(outer, t, s2))

    def flush(self):
        return self.real.flush()


class _Poll:
    """A poll object whose waits are not counted as the simulation's work."""

    def __init__(self, real):
        self.real = real
        self.poll = _paused(real.poll, _MAY_BLOCK)
        self.ipoll = _paused(real.ipoll, _MAY_BLOCK)  # waits in the call, yields from the real poll

    def register(self, *args):
        return self.real.register(*args)


def count_clock(board, pacing=None):
    """Count reads of the clock (pyb.millis, micros ...) whole, pacing
    included; ``pacing``: the globals of the module that paces the clock to
    the wall clock, whose sleeps are left out."""
    board.read_time = _wrap0(board.read_time)
    if pacing is not None and "time" in pacing:
        pacing["time"] = _Time(pacing["time"])
    if pacing is not None and "_out" in pacing:  # USB_VCP's writes, waiting for the link
        pacing["_out"] = _Out(pacing["_out"])
    if pacing is not None and "_out_poll" in pacing:  # USB_VCP.send waiting for room
        pacing["_out_poll"] = _Poll(pacing["_out_poll"])


# What the firmware's C code behind a call costs the board (ns), on top of the
# call's bytecode, which the board's interpreter runs at board speed anyway.
# docs/virtual-board.md, "Costs of the simulated hardware", gives the sources.
BOARD_NS = {
    "clock": 0,  # millis/micros/elapsed_*: read SysTick, a few instructions
    # ADC.read: the firmware turns the ADC on for each read and off after it
    # (ports/stm32/adc.c adc_read_channel: HAL_ADC_Start .. HAL_ADC_Stop), and
    # HAL_ADC_Start waits for the ADC to settle in a loop of
    # ADC_STAB_DELAY_US * SystemCoreClock / 1000000 = 3 * 168 = 504 turns
    # (stm32lib, STM32F4xx_HAL_Driver stm32f4xx_hal_adc.c/.h) of at least 10
    # cycles each (docs/virtual-board.md): 30 us; then one conversion, 15 + 12
    # ADC clocks at 42 MHz (PCLK2 / 2): 643 ns
    "adc": 30000 + 643,
    # machine.ADC.read_u16 leaves the ADC on (ports/stm32/machine_adc.c): the
    # conversion alone (turning the ADC on, when it is off, is charged by the
    # simulation: pyb_sim.machine.ADC_ON_NS)
    "adc_u16": 643,
    "pin": 0,  # a GPIO register read or write
    "dac": 0,  # one register write
    "usb_byte": 60,  # usbd_cdc_tx: a byte into the ring buffer, about 10 cycles at 168 MHz
    # a Timer or ExtInt interrupt up to the handler's bytecode and back:
    # exception entry and exit, timer_irq_handler, mp_irq_dispatch's locks
    # and nlr_push (ports/stm32/timer.c, shared/runtime/mpirq.c), about
    # 250 cycles at 168 MHz: an estimate, no published figure
    "irq": 1500,
}


def _charged0(fn, cost):
    def call():
        st = _state
        if st[0] == 0:
            st[1] = _us()
            st[2] = _spent[2]
        st[0] += 1
        try:
            return fn()
        finally:
            st[0] -= 1
            if st[0] == 0:
                _spent[0] += _diff(_us(), st[1]) * 1000 - (_spent[2] - st[2]) + _over[0]
            _spent[1] += cost

    return call


def _charged1(fn, cost):
    def call(a):
        st = _state
        if st[0] == 0:
            st[1] = _us()
            st[2] = _spent[2]
        st[0] += 1
        try:
            return fn(a)
        finally:
            st[0] -= 1
            if st[0] == 0:
                _spent[0] += _diff(_us(), st[1]) * 1000 - (_spent[2] - st[2]) + _over[0]
            _spent[1] += cost

    return call


def _charged2(fn, cost):
    def call(a, b):
        st = _state
        if st[0] == 0:
            st[1] = _us()
            st[2] = _spent[2]
        st[0] += 1
        try:
            return fn(a, b)
        finally:
            st[0] -= 1
            if st[0] == 0:
                _spent[0] += _diff(_us(), st[1]) * 1000 - (_spent[2] - st[2]) + _over[0]
            _spent[1] += cost

    return call


def _charged_opt(fn, cost):
    # a method with one optional argument (Pin.value(), DAC.write(v) ...)
    _none = _charged_opt  # a default no caller passes

    def call(self, a=_none):
        st = _state
        if st[0] == 0:
            st[1] = _us()
            st[2] = _spent[2]
        st[0] += 1
        try:
            return fn(self) if a is _none else fn(self, a)
        finally:
            st[0] -= 1
            if st[0] == 0:
                _spent[0] += _diff(_us(), st[1]) * 1000 - (_spent[2] - st[2]) + _over[0]
            _spent[1] += cost

    return call


def patch(pyb):
    """Count the simulated ``pyb`` module's hot calls whole (see above)."""
    clock = BOARD_NS["clock"]
    for name in ("millis", "micros"):
        setattr(pyb, name, _charged0(getattr(pyb, name), clock))
    for name in ("elapsed_millis", "elapsed_micros"):
        setattr(pyb, name, _charged1(getattr(pyb, name), clock))
    # waits: their time passes on the board's clock (the sleeps are left
    # out of the count), the Python around them is the simulation's
    pyb.wfi = _charged0(pyb.wfi, 0)
    for name in ("delay", "udelay"):
        setattr(pyb, name, _charged1(getattr(pyb, name), 0))
    pyb.ADC.read = _charged1(pyb.ADC.read, BOARD_NS["adc"])
    pin = BOARD_NS["pin"]
    pyb.Pin.value = _charged_opt(pyb.Pin.value, pin)
    for name in ("on", "off", "high", "low"):
        setattr(pyb.Pin, name, _charged1(getattr(pyb.Pin, name), pin))
    for name in ("on", "off", "toggle"):
        setattr(pyb.LED, name, _charged1(getattr(pyb.LED, name), pin))
    pyb.DAC.write = _charged_opt(pyb.DAC.write, BOARD_NS["dac"])
    vcp = getattr(pyb, "USB_VCP", None)
    if vcp is not None and hasattr(vcp, "write"):
        vcp.write = _vcp_write(vcp.write)
        # polled by a streaming program (Ctrl-C, a host that went away):
        # a look at the firmware's buffers and flags
        for name in ("any", "isconnected"):
            if hasattr(vcp, name):
                setattr(vcp, name, _charged1(getattr(vcp, name), 0))


def patch_machine(machine):
    """Count the simulated ``machine`` module's hot calls whole."""
    machine.ADC.read_u16 = _charged1(machine.ADC.read_u16, BOARD_NS["adc_u16"])


def patch_time(clock):
    """Count the board's ``time`` functions whole (``pyb_sim.clock``, before
    the firmware's ``time`` module is made from it): on the board they are
    C, a SysTick read or an addition; here they are Python."""
    cost = BOARD_NS["clock"]
    for name in ("ticks_ms", "ticks_us", "ticks_cpu", "time", "time_ns"):
        setattr(clock, name, _charged0(getattr(clock, name), cost))
    for name in ("ticks_diff", "ticks_add"):
        setattr(clock, name, _charged2(getattr(clock, name), cost))
    for name in ("sleep", "sleep_ms", "sleep_us"):
        setattr(clock, name, _charged1(getattr(clock, name), 0))


def _vcp_write(fn):
    # USB_VCP.write: the board's copy into the 1 KB transmit buffer,
    # BOARD_NS["usb_byte"] a byte; waiting for room is board time (_Out)
    per_byte = BOARD_NS["usb_byte"]

    # write(buf[, max_len]), write(buf, off, max_len); fn and per_byte as
    # defaults: a closure whose closed-over names and arguments come to more
    # than five takes heap at every call (py/objclosure.c), which the
    # firmware's write does not
    def call(self, buf, a=-1, b=-1, fn=fn, per_byte=per_byte):
        st = _state
        if st[0] == 0:
            st[1] = _us()
            st[2] = _spent[2]
        st[0] += 1
        try:
            if a < 0:
                return fn(self, buf)
            if b < 0:
                return fn(self, buf, a)
            return fn(self, buf, a, b)
        finally:
            st[0] -= 1
            if st[0] == 0:
                _spent[0] += _diff(_us(), st[1]) * 1000 - (_spent[2] - st[2]) + _over[0]
            _spent[1] += per_byte * (len(buf) if a < 0 else a if b < 0 else b)

    return call
