"""Soft Timer callbacks (``pyb.Timer(..., hard=False)``): the firmware
schedules them (micropython.schedule) to run in the main program, where
they may allocate (ports/stm32/timer.c ``hard``, default True;
shared/runtime/mpirq.c ``mp_irq_dispatch``)."""

import pyb


def test_a_soft_timer_callback_runs_in_the_main_program_and_may_allocate():
    got = []
    tim = pyb.Timer(4, freq=1000, callback=lambda t: got.append(bytearray(8)), hard=False)
    pyb.delay(5)
    k = 0
    while k < 100 and len(got) < 5:  # scheduled functions run between bytecodes
        k += 1
    tim.deinit()
    assert len(got) == 5 and len(got[0]) == 8


def test_a_hard_pin_irq_that_raises_is_reported_and_disabled():
    # ports/stm32/extint.c Handle_EXTI_Irq; Pin.irq is ExtInt underneath
    import pyb_sim

    board = pyb_sim.board
    calls = bytearray(1)
    error = ValueError("edge")  # made here: the handler cannot allocate

    def bad(p):
        calls[0] += 1
        raise error

    pin = pyb.Pin("Y1", pyb.Pin.IN)
    pin.irq(bad, trigger=0x100000, hard=True)  # rising edges
    board.set_pin("Y1", 0)
    board.set_pin("Y1", 1)
    board.set_pin("Y1", 0)
    board.set_pin("Y1", 1)  # the handler is off by now
    assert calls[0] == 1
    header, exc = board.irq_exceptions[-1]
    assert header == "uncaught exception in ExtInt interrupt handler line 6"
    assert exc is error


def test_interrupts_that_come_while_they_are_off_are_taken_once_when_on_again():
    # ports/stm32/irq.h: disable_irq sets PRIMASK; the timer's interrupt
    # stays pending (one bit) and is taken when enable_irq clears it
    calls = bytearray(1)

    def cb(t):
        calls[0] += 1

    tim = pyb.Timer(4, freq=1000, callback=cb)
    state = pyb.disable_irq()
    pyb.delay(5)  # five ticks while interrupts are off
    assert calls[0] == 0
    pyb.enable_irq(state)
    assert calls[0] == 1  # taken at once, once
    pyb.delay(2)
    tim.deinit()
    assert calls[0] == 3
