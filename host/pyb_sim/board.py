"""The simulated board: virtual clock, interrupts and wiring.

One `Board` instance (``pyb_sim.board``) holds everything the simulated
``pyb`` module reads and writes: the time, the timers' schedules, which
device models sit on which bus, the analog signals on the pins, the DAC
outputs and the UART lines. Tests wire it up in a line or two::

    from pyb_sim import board
    from pyb_sim.models.bme280 import BME280Model
    board.attach_i2c(1, BME280Model(address=0x76))
    board.set_analog("X1", lambda t: 1.65 + 0.5 * math.sin(t))

Runs on CPython and on the MicroPython unix port.
"""

import sys

from pyb_sim import pins

MICROPYTHON = sys.implementation.name == "micropython"
if MICROPYTHON:
    import micropython as _mp

    _heap_lock = _mp.heap_lock
    _heap_unlock = _mp.heap_unlock

    def _lock_depth():
        # heap_unlock() returns the depth left, so lock + unlock reads it.
        _heap_lock()
        return _heap_unlock()
else:
    def _lock_depth():
        return 0

    def _heap_lock():
        return None

    def _heap_unlock():
        return 0

NS_PER_US = 1000
NS_PER_MS = 1000000
NS_PER_S = 1000000000

# Each read of the clock (millis, micros, elapsed_*) costs this much
# virtual time, about what the call costs on the board, so that a loop
# that polls the clock until a deadline ends.
TIME_READ_NS = 1000


class Event:
    """A callable scheduled at a virtual time (ns)."""

    def __init__(self, due, fn):
        self.due = due
        self.fn = fn


class UartLine:
    """What is on the wire of one UART: bytes arriving on RX, bytes sent on TX.

    Bytes arrive one character time apart (start + data + parity + stop
    bits at the baud rate) and land in the RX buffer, which holds
    ``rxbuf`` bytes like the firmware's; what does not fit is lost and
    counted in ``overrun``.
    """

    def __init__(self, bus):
        self.bus = bus
        self.arrivals = []  # [[first byte time ns, ns per byte, data, bytes delivered]]
        self.rx = bytearray()
        self.rxbuf = 64
        self.overrun = 0
        self.tx = bytearray()
        self.baudrate = 9600
        self.loopback = False
        self.model = None  # object with uart_receive(data, line, board)
        self.char_ns = 10 * NS_PER_S // 9600

    def feed(self, data, at_ns):
        """Queue bytes whose first arrives at ``at_ns``, then one per character time."""
        if len(data):
            self.arrivals.append([at_ns, self.char_ns, bytes(data), 0])

    def settle(self, now):
        """Move the bytes that have arrived by ``now`` into the RX buffer."""
        while self.arrivals:
            a = self.arrivals[0]
            first, step, data, pos = a
            if now < first:
                return
            upto = min(len(data), (now - first) // step + 1)
            if upto > pos:
                room = self.rxbuf - len(self.rx)
                take = min(room, upto - pos)
                if take > 0:
                    self.rx.extend(data[pos : pos + take])
                self.overrun += (upto - pos) - max(take, 0)
                a[3] = upto
            if upto < len(data):
                return
            self.arrivals.pop(0)

    def next_arrival(self):
        """Time (ns) at which the next byte arrives, or None."""
        if not self.arrivals:
            return None
        first, step, data, pos = self.arrivals[0]
        return first + pos * step


class DacTrace:
    """The output of one DAC channel as recorded writes and timed playbacks."""

    def __init__(self, channel):
        self.channel = channel
        self.bits = 8
        self.samples = []  # [(time_ns, raw)] for single writes
        self.playback = None  # (start_ns, data, period_ns, circular, bits)
        # Output buffer for single writes and for waveforms: the firmware's
        # defaults for buffering=None (ports/stm32/dac.c, pyb_dac_init_helper).
        self.buffered_single = False
        self.buffered_wave = True

    def write(self, now, raw, bits):
        self.playback = None
        self.bits = bits
        self.samples.append((now, raw))

    def play(self, now, data, period_ns, circular, bits):
        self.bits = bits
        self.playback = (now, data, period_ns, circular, bits)

    def stop(self, now):
        if self.playback is not None:
            self.samples.append((now, self.raw_at(now)))
            self.playback = None

    def raw_at(self, t):
        """The raw DAC value being output at virtual time ``t`` (ns)."""
        pb = self.playback
        if pb is not None and t >= pb[0]:
            start, data, period, circular, _ = pb
            i = (t - start) // period
            if circular:
                return data[i % len(data)]
            return data[min(i, len(data) - 1)]
        raw = 0
        for at, value in self.samples:
            if at <= t:
                raw = value
            else:
                break
        return raw

    def buffered_at(self, t):
        """Whether the output buffer is on at virtual time ``t`` (ns): a
        waveform's setting while one plays, else a single write's."""
        pb = self.playback
        return self.buffered_wave if pb is not None and t >= pb[0] else self.buffered_single

    def volts_at(self, t, vdda=3.3):
        full = 4095 if self.bits == 12 else 255
        v = self.raw_at(t) * vdda / full
        if self.buffered_at(t):
            # With the output buffer on, the output swings 0.2 V .. VDDA - 0.2 V
            # (STM32F405 datasheet DS8626, DAC characteristics).
            v = min(max(v, 0.2), vdda - 0.2)
        return v


class DacWire:
    """A DAC output wired to an ADC pin (``Board.connect_dac``): a signal
    ``fn(t_s) -> volts``, and its 12-bit conversion in integers
    (``adc_raw``), which allocates nothing."""

    def __init__(self, board, channel):
        self.board = board
        self.dac = board.dacs[channel]
        self.out = "A4" if channel == 1 else "A5"
        self.keep_clamp()

    def __call__(self, t):
        b = self.board
        if b.pin_owner.get(self.out) != "DAC":
            return 0.0
        return self.dac.volts_at(int(t * NS_PER_S), b.vdda)

    def adc_raw(self):
        """The conversion now, as ``int(volts * 4095 / vdda + 0.5)`` gives
        it: raw * 4095 / full is a multiple of 1/17 (full = 255) or whole
        (full = 4095), never halfway, so rounding in integers agrees; the
        buffer's clamp in volts is a clamp in conversions (both are
        monotonic). -1 while the clamp for this VDDA is not known yet."""
        b = self.board
        if b.pin_owner.get(self.out) != "DAC":
            return 0
        dac = self.dac
        now = b.now
        full = 4095 if dac.bits == 12 else 255
        v = (dac.raw_at(now) * 8190 + full) // (2 * full)
        if dac.buffered_at(now):
            c = self._clamp
            if c[0] != b.vdda:
                return -1
            if v < c[1]:
                return c[1]
            if v > c[2]:
                return c[2]
        return v

    def keep_clamp(self):
        """Work out the clamp for the present VDDA (allocates: not from
        ``adc_raw``): VDDA, and the buffer's 0.2 V and VDDA - 0.2 V as
        conversions."""
        vdda = self.board.vdda
        self._clamp = (vdda, int(0.2 * 4095 / vdda + 0.5), int((vdda - 0.2) * 4095 / vdda + 0.5))


class Sine:
    """A sine on an ADC pin, ``offset + amplitude * sin(2 pi hz t)`` volts
    (``fn(t_s) -> volts``), with a 12-bit conversion that allocates nothing
    (``adc_raw``): a table of one period's conversions against ``vdda``,
    made here (2 KB, not out of the board's heap later), interpolated in
    integers. Its period is rounded to the ns; the conversion is within
    1 LSB of ``Board.adc_raw``'s, 3 LSB next to a clip at 0 V or VDDA."""

    STEPS = 1024  # table entries a period
    FRAC = 16  # table entries in 1/16 LSB (4095 * 16 fits an unsigned 16-bit item)

    def __init__(self, hz=1.0, amplitude=1.0, offset=1.65, vdda=3.3):
        import array
        import math

        self.hz = hz
        self.amplitude = amplitude
        self.offset = offset
        self.period_ns = max(1, int(NS_PER_S / hz + 0.5))
        self.vdda = vdda
        tb = array.array("H", bytes(2 * (self.STEPS + 1)))
        for i in range(self.STEPS + 1):
            v = min(max(offset + amplitude * math.sin(2 * math.pi * i / self.STEPS), 0.0), vdda)
            tb[i] = int(v * 4095 * self.FRAC / vdda + 0.5)
        self._table = tb

    def __call__(self, t):
        import math

        return self.offset + self.amplitude * math.sin(2 * math.pi * self.hz * t)

    def adc_raw(self, now, vdda):
        """The conversion at ``now`` (ns) against ``vdda``; -1 for another
        VDDA than the table's (``Board.adc_raw`` then)."""
        if vdda != self.vdda:
            return -1
        tb = self._table
        p = self.period_ns
        pos = (now % p) * 1024  # Sine.STEPS
        i = pos // p
        a = tb[i]
        return (a + (tb[i + 1] - a) * (pos % p) // p + 8) >> 4  # + FRAC / 2, / FRAC


# The USB_VCP transmit buffer and the firmware's wait for room in it
# (micropython/micropython ports/stm32, commit 1c3c201149f37fe8d81246191b3127bb198d6306:
# mpconfigboard_common.h MICROPY_HW_USB_CDC_TX_DATA_SIZE, usbd_cdc_interface.c
# usbd_cdc_tx_always).
USB_TX_BUF = 1024
USB_ALWAYS_WAIT_NS = 500 * NS_PER_MS


class UsbLine:
    """The USB virtual COM port as the host sees it.

    ``from_board`` holds what reached the host; ``tx`` what waits in the
    board's 1 KB transmit buffer, for a host that has the port closed
    (``connected`` False, DTR low) or does not read (``reading`` False).
    ``lost`` counts the bytes the firmware overwrote in that buffer.
    Change ``connected``/``reading`` with ``host_open``, ``host_close``,
    ``host_pause`` and ``host_resume``: the buffer then reaches the host.
    """

    def __init__(self):
        self.to_board = bytearray()
        self.from_board = bytearray()
        self.tx = bytearray()
        self.interrupt_char = 3
        self.connected = True
        self.reading = True
        self.flow = 0  # USB_VCP.init(flow=): RTS 1, CTS 2; 0 while attached to the REPL
        self.lost = 0

    def host_write(self, data):
        self.to_board.extend(data)

    def host_read(self):
        data = bytes(self.from_board)
        self.from_board = bytearray()
        return data

    # --- the host's side of the port -------------------------------------
    def host_open(self):
        """The host opens the port (sets DTR): the buffer goes out."""
        self.connected = True
        self._drain()

    def host_close(self):
        """The host closes the port (DTR low): the board's writes stay in
        its buffer, the oldest overwritten."""
        self.connected = False

    def host_pause(self):
        """The host keeps the port open but stops reading."""
        self.reading = False

    def host_resume(self):
        self.reading = True
        self._drain()

    def _drain(self):
        if self.connected and self.reading and self.tx:
            self.from_board.extend(self.tx)
            self.tx = bytearray()

    def room(self):
        """Bytes the transmit buffer takes now without waiting."""
        if not self.connected:
            return 0
        if self.reading:
            return 1 << 30
        return USB_TX_BUF - len(self.tx)

    def put(self, data, overwrite):
        """Bytes into the buffer (or to the host when it reads); with
        ``overwrite`` the oldest beyond 1 KB are lost (usbd_cdc_tx_buffer_put
        with check_overflow)."""
        if self.connected and self.reading:
            self.from_board.extend(data)
            return
        self.tx.extend(data)
        extra = len(self.tx) - USB_TX_BUF
        if extra > 0:
            if not overwrite:
                raise AssertionError("USB transmit buffer overrun")
            self.tx[:extra] = b""
            self.lost += extra


class Board:
    """State of one simulated PyBoard v1.1."""

    def __init__(self):
        # Called (allocating nothing) when a timer callback or an event may
        # now fall due earlier than before: the virtual board's interrupt
        # controller (pyb_sim.preempt) re-arms. None in the device tests.
        self.on_irq_change = None
        # micropython.schedule for soft callbacks (pyb_sim.preempt's on the
        # virtual board; None: the interpreter's own)
        self.schedule_soft = None
        # Runs an interrupt handler, ``call_handler(fn, arg)``, inside
        # run_irq (the CPU model's, pyb_sim.cpu_board; None: ``fn(arg)``).
        self.call_handler = None
        # Adds ``ns`` to what the board's firmware spent (the CPU model's,
        # pyb_sim.cpu_board, for costs that depend on the hardware's state;
        # None: time is not modelled).
        self.charge = None
        self.reset()

    # --- life cycle -------------------------------------------------------
    def reset(self):
        """Power-on state: time 0, nothing wired, no timers running."""
        self.now = 0
        self.irq_depth = 0
        self.events = []
        self.timers = {}  # timer id -> pyb.Timer with a callback or freq
        self.peripherals = {}  # (kind, id) -> the one pyb object of that peripheral
        self.irq_exceptions = []  # (header line, exception) of each failed handler
        self.i2c_devices = {1: {}, 2: {}}
        self.spi_devices = {1: [], 2: []}  # [(cs cpu name, model)]
        self.pin_levels = {}  # cpu name -> level driven (by board or test)
        self.pin_modes = {}
        # cpu name -> what drives it now: "GPIO", "DAC", "ADC", "SPI1", "I2C1",
        # "UART4", ... The last peripheral initialised takes the pin (the
        # firmware reconfigures it, ports/stm32/*.c *_init); a bus whose pins
        # were taken reaches no device.
        self.pin_owner = {}
        self.pin_listeners = {}  # cpu name -> [fn(level)]
        self.extints = {}  # line -> ExtInt
        self.analog = {}  # cpu name -> volts or fn(t_seconds) -> volts
        self._fixed = {}  # cpu name -> (volts, vdda, 12-bit conversion): adc_raw_fixed
        self.vdda = 3.3
        # ADC1 is on (ADON): machine.ADC leaves it on, pyb.ADC turns it off
        # after each read (ports/stm32/machine_adc.c, adc.c)
        self.adc_on = False
        self.vbat = 3.0
        self.core_temp = 25.0
        self.uarts = {}
        self.dacs = {1: DacTrace(1), 2: DacTrace(2)}
        self.usb = UsbLine()
        self.leds = [0, 0, 0, 0]
        self.switch_pressed = False
        self.switch_callback = None
        self.i2c_faults = {}  # address -> number of transfers to fail with EIO
        self.irq_enabled = True
        self.irq_held = []  # Timers and ExtInts whose interrupt waits for enable_irq
        self._relock = bytearray(32)  # heap-lock depths undone by hw_enter
        self._hw_sp = 0
        # Test mode (0: off): each call into simulated hardware from the main
        # program first lets this many ns pass and runs the callbacks that
        # fall due, so an interrupt can land between any two hardware calls.
        self.preempt_ns = 0

    # --- time ---------------------------------------------------------------
    def advance(self, ns):
        """Let ``ns`` nanoseconds of virtual time pass, firing what falls due."""
        self.advance_to(self.now + ns)

    def advance_to(self, t):
        if self.irq_depth:
            # Inside an interrupt handler time still passes, but nested
            # interrupts wait until the handler returns.
            if t > self.now:
                self.now = t
            return
        # The clock is hardware: it does not allocate on the board, so it
        # may run even under a test's heap_lock().
        self.hw_enter()
        try:
            self._run_until(t)
        finally:
            self.hw_exit()

    def _run_until(self, t):
        while True:
            ev = None
            for e in self.events:
                if e.due <= t and (ev is None or e.due < ev.due):
                    ev = e
            tm = None
            timers = self.timers
            for k in timers:  # (values() would allocate a view at every clock read)
                timer = timers[k]
                due = timer._due
                if due is not None and due <= t and (tm is None or due < tm._due):
                    tm = timer
            if ev is None and tm is None:
                break
            if tm is None or (ev is not None and ev.due <= tm._due):
                self.events.remove(ev)
                if ev.due > self.now:
                    self.now = ev.due
                ev.fn()
            else:
                if tm._due > self.now:
                    self.now = tm._due
                tm._fire()
        if t > self.now:
            self.now = t

    def schedule(self, at_ns, fn):
        """Call ``fn()`` when virtual time reaches ``at_ns``."""
        self.events.append(Event(at_ns, fn))
        self.irq_changed()

    def catch_up(self):
        """Bring the clock up to the present before a timer starts: on the
        virtual board (pyb_sim.preempt replaces this) the wall clock runs on
        while the program computes without reading the time; in the device
        tests time passes only when the program waits."""

    def irq_changed(self):
        """A timer callback or an event was added or moved (see on_irq_change)."""
        if self.on_irq_change is not None:
            self.on_irq_change()

    def next_irq_due(self, every=False):
        """When (ns) the next timer callback or scheduled event falls due, or
        None; ``every``: timers without a callback too, what ``advance_to``
        runs. Allocates nothing (iterating a dict's keys takes no heap)."""
        nxt = None
        for e in self.events:
            if nxt is None or e.due < nxt:
                nxt = e.due
        timers = self.timers
        for k in timers:
            t = timers[k]
            due = t._due
            if due is not None and (every or t._cb is not None) and (nxt is None or due < nxt):
                nxt = due
        return nxt

    def read_time(self):
        """The time in ns, as read by pyb.millis/micros (costs TIME_READ_NS)."""
        if not self.irq_depth:
            self.advance(TIME_READ_NS)
        return self.now

    @property
    def seconds(self):
        return self.now / NS_PER_S

    # --- interrupts ---------------------------------------------------------
    def run_irq(self, fn, arg):
        """Run an interrupt handler as the board does: heap locked.

        On MicroPython the real ``micropython.heap_lock()`` is held, so any
        allocation raises MemoryError; on CPython the simulated peripherals
        refuse every call that would allocate (see ``check_alloc``).
        """
        self.irq_depth += 1
        _heap_lock()
        try:
            h = self.call_handler
            if h is None:
                fn(arg)
            else:  # the CPU model's: the handler is the board's code
                h(fn, arg)
        finally:
            _heap_unlock()
            self.irq_depth -= 1

    def run_soft(self, fn, arg):
        """A soft interrupt callback: scheduled to run in the main program
        (shared/runtime/mpirq.c: ``mp_sched_schedule``; a full queue drops
        it). The scheduler prints an exception the callback raises and keeps
        the callback (py/scheduler.c ``mp_call_function_1_protected``)."""
        if MICROPYTHON:
            try:
                (self.schedule_soft or _mp.schedule)(fn, arg)
            except RuntimeError:  # the queue is full: the firmware drops it too
                pass
            return
        try:
            fn(arg)
        except Exception as e:  # noqa: BLE001 - printed, as the scheduler does
            self.print_traceback(e)

    def hold_irq(self, source):
        """An interrupt of ``source`` (a Timer, an ExtInt) came while
        interrupts are off (pyb.disable_irq): kept pending, once."""
        if source not in self.irq_held:
            self.irq_held.append(source)

    def take_pending(self):
        """Interrupts are on again: run the handlers of those that came
        meanwhile, in the order they came."""
        held = self.irq_held
        while held and self.irq_enabled:
            held.pop(0)._call()

    def irq_failed(self, header, exc):
        """An interrupt handler raised: print ``header`` and the exception, as
        the firmware prints them on its REPL (shared/runtime/mpirq.c,
        ports/stm32/extint.c), and record them in ``irq_exceptions``. The
        caller disables the handler; the main program carries on."""
        self.irq_exceptions.append((header, exc))
        print(header)
        self.print_traceback(exc)

    def print_traceback(self, exc):
        """Print ``exc`` as the firmware does: the board's own code only in
        the traceback (the simulation's frames are C code on a board)."""
        if MICROPYTHON:
            import io

            buf = io.StringIO()
            sys.print_exception(exc, buf)
            for line in buf.getvalue().split("\n"):
                if line and 'File "pyb_sim/' not in line and "/pyb_sim/" not in line:
                    print(line)
        else:
            print("%s: %s" % (type(exc).__name__, exc))

    def hw_enter(self):
        """Enter simulated hardware, which may allocate even when the heap is
        locked (by an interrupt handler or by a test's heap_lock()): the
        firmware's C code behind these calls does not use the heap."""
        depth = _lock_depth()
        n = depth
        while n:
            _heap_unlock()
            n -= 1
        self._relock[self._hw_sp] = depth
        self._hw_sp += 1
        if self.preempt_ns and self._hw_sp == 1 and not self.irq_depth:
            # (what runs here enters hardware at depth 2 or in an interrupt)
            self._run_until(self.now + self.preempt_ns)

    def hw_exit(self):
        self._hw_sp -= 1
        n = self._relock[self._hw_sp]
        while n:
            _heap_lock()
            n -= 1

    def check_alloc(self):
        """Raise MemoryError when called from an interrupt handler."""
        if self.irq_depth:
            raise MemoryError("memory allocation failed, heap is locked")

    # --- pin ownership -------------------------------------------------------
    def own(self, cpus, tag):
        """Peripheral ``tag`` takes the CPU pins ``cpus``."""
        for c in cpus:
            self.pin_owner[c] = tag

    def owns(self, cpus, tag):
        """Whether ``tag`` still drives every pin of ``cpus``; allocates nothing."""
        for c in cpus:
            if self.pin_owner.get(c) != tag:
                return False
        return True

    # --- wiring: I2C --------------------------------------------------------
    def _attached(self, model):
        """A model knows the board it is attached to (``model.board``: its
        clock, its pins) and is told (``attached(board)``) when it has one."""
        model.board = self
        hook = getattr(model, "attached", None)
        if hook is not None:
            hook(self)
        return model

    def attach_i2c(self, bus, model):
        """Put a device model (with ``.address``) on I2C bus 1 or 2."""
        bus = pins.i2c_bus_id(bus)
        self.i2c_devices[bus][model.address] = model
        return self._attached(model)

    def detach_i2c(self, bus, address):
        self.i2c_devices[pins.i2c_bus_id(bus)].pop(address, None)

    def fail_i2c(self, address, times=1):
        """Make the next ``times`` transfers to ``address`` fail (EIO)."""
        self.i2c_faults[address] = times

    # --- wiring: SPI --------------------------------------------------------
    def attach_spi(self, bus, cs, model):
        """Put a device model on SPI bus 1 or 2, selected by pin ``cs`` low."""
        bus = pins.spi_bus_id(bus)
        cpu = pins.cpu_name(cs)
        self.spi_devices[bus].append((cpu, model))
        self.on_pin_change(cpu, lambda level: model.spi_select(level == 0))
        return self._attached(model)

    # --- wiring: pins -------------------------------------------------------
    def on_pin_change(self, pin, fn):
        """Call ``fn(level)`` whenever the board drives ``pin`` to a new level."""
        cpu = pins.cpu_name(pin)
        self.pin_listeners.setdefault(cpu, []).append(fn)

    def set_pin(self, pin, level):
        """Drive an input pin from outside (a button, a sensor's IRQ line)."""
        cpu = pins.cpu_name(pin)
        self._drive(cpu, 1 if level else 0)

    def pin_level(self, pin):
        return self.pin_levels.get(pins.cpu_name(pin), 0)

    def _drive(self, cpu, level):
        old = self.pin_levels.get(cpu)
        self.pin_levels[cpu] = level
        if old == level:
            return
        for fn in self.pin_listeners.get(cpu, ()):
            fn(level)
        line = pins.exti_line(cpu)
        ext = self.extints.get(line)
        if ext is not None and old is not None:
            ext._edge(level)

    # --- wiring: analog -----------------------------------------------------
    def set_analog(self, pin, signal):
        """Apply a voltage to an ADC pin: a number (volts) or fn(t_s) -> volts."""
        self.analog[pins.cpu_name(pin)] = signal

    def connect_dac(self, channel, pin):
        """Wire DAC ``channel`` (1 = X5, 2 = X6) to the ADC pin ``pin``."""
        self.analog[pins.cpu_name(pin)] = DacWire(self, channel)

    def volts(self, cpu):
        """The voltage on a pin now (clamped to 0..VDDA as the ADC sees it)."""
        sig = self.analog.get(cpu)
        if sig is None:
            dac = pins.dac_channel(cpu)
            if dac:
                return self.dacs[dac].volts_at(self.now, self.vdda)
            return 0.0
        v = sig(self.now / NS_PER_S) if callable(sig) else sig
        if v < 0:
            return 0.0
        if v > self.vdda:
            return self.vdda
        return v

    def adc_raw(self, cpu):
        """12-bit conversion of the voltage on ``cpu`` against VDDA."""
        return int(self.volts(cpu) * 4095 / self.vdda + 0.5)

    def adc_raw_fixed(self, cpu):
        """The 12-bit conversion of ``cpu`` when it needs no arithmetic: a pin
        with nothing on it (0) or a fixed voltage (kept from the last read);
        else -1 (``adc_raw`` then). Allocates nothing, takes no frame on the
        heap: an ADC read in a Timer callback, at every tick, is the hot path
        of the simulation, and its garbage would slow the board's own code
        (each collection leaves the heap in pieces that a larger allocation,
        the board's too, has to search past: py/gc.c gc_alloc). -1 too in
        the test mode of ``preempt_ns``, whose callbacks run in ``hw_enter``."""
        if self.preempt_ns:
            return -1
        sig = self.analog.get(cpu)
        if sig is None:
            return -1 if cpu is None or pins.dac_channel(cpu) else 0
        if sig.__class__ is DacWire:
            return sig.adc_raw()
        if sig.__class__ is Sine:
            return sig.adc_raw(self.now, self.vdda)
        c = self._fixed.get(cpu)
        if c is not None and c[0] is sig and c[1] == self.vdda:
            return c[2]
        return -1

    def keep_fixed(self, cpu, raw):
        """Remember ``raw``, the conversion of ``cpu``, when its voltage is
        fixed (see ``adc_raw_fixed``)."""
        sig = self.analog.get(cpu)
        if sig.__class__ is DacWire:
            sig.keep_clamp()
        elif sig is not None and not callable(sig):
            self._fixed[cpu] = (sig, self.vdda, raw)

    # --- wiring: UART -------------------------------------------------------
    def uart_line(self, bus):
        line = self.uarts.get(bus)
        if line is None:
            line = self.uarts[bus] = UartLine(bus)
        return line

    def uart_loopback(self, bus):
        """Connect the TX of UART ``bus`` to its own RX."""
        self.uart_line(pins.uart_bus_id(bus)).loopback = True

    def attach_uart(self, bus, model):
        """Connect a model with ``uart_receive(data, line)`` to UART ``bus``."""
        line = self.uart_line(pins.uart_bus_id(bus))
        line.model = model
        return self._attached(model)

    def uart_feed(self, bus, data, delay_ms=0):
        """Bytes arrive on UART ``bus`` RX after ``delay_ms`` (at line speed)."""
        line = self.uart_line(pins.uart_bus_id(bus))
        line.feed(data, self.now + delay_ms * NS_PER_MS + line.char_ns)

    def uart_sent(self, bus):
        """Everything the board has written on UART ``bus`` so far."""
        return bytes(self.uart_line(pins.uart_bus_id(bus)).tx)
