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
