"""Interrupts that pre-empt the board's code on the virtual board.

On a PyBoard a Timer or ExtInt callback runs when its interrupt comes,
between two bytecodes of whatever the main program is doing, a pure-Python
loop included. The simulation (``pyb_sim.board``) fires callbacks only when
the program reads or moves the clock; this module, used by the virtual
board's interpreter (``pyb_sim.vboard_agent``) when its clock follows the
wall clock, adds the interrupt controller:

- A thread (``_thread``) sleeps until the next callback falls due (the
  simulation's ``Board.next_irq_due``, turned into wall-clock time) and then
  asks the interpreter, with ``micropython.schedule``, to run ``_dispatch``.
  The unix port runs scheduled functions on the main thread only, between
  bytecodes (at its pending checks: jumps, loop ends), so the main program
  is held while the callbacks run, and they run one at a time (the
  scheduler does not nest).
- ``_dispatch`` lets the board's clock catch up with the wall clock, which
  fires what fell due in time order, each callback heap-locked by
  ``Board.run_irq``, exactly as a clock read does. If the main program is
  inside the simulation (a simulated peripheral's call, another callback,
  or the agent's message writer), nothing runs there: the thread is asked
  again 50 us later, so a callback never lands inside a simulated
  operation.
- ``micropython.schedule`` of the board's code goes to a queue of 8 here
  (the firmware's depth), run by the dispatch like the callbacks: never
  inside the simulation.
- The thread shares only an array of small ints with the main thread
  (the unix port has no GIL: two threads must not touch one object), and
  allocates nothing in its loop.

Facts from micropython/micropython (commit 1c3c201149f37fe8d81246191b3127bb198d6306):
py/scheduler.c (``mp_handle_pending`` runs scheduled functions on the main
thread only when the build has threads and no GIL, as the unix port:
ports/unix/mpconfigport.mk ``MICROPY_PY_THREAD_GIL = 0``; at most one
Python callback per pending check; ``mp_call_function_1_protected`` prints
and drops an exception escaping one, KeyboardInterrupt included), py/vm.c
(the pending check after jumps).
"""

import _thread
import array
import time

import micropython

_us = time.ticks_us
_diff = time.ticks_diff
_add = time.ticks_add

RETRY_US = 50  # the main program was inside the simulation: ask again this much later
SLICE_US = 1000  # the thread looks for a new deadline at least this often
POLL_US = 20  # and this often while a dispatch waits to run
_MAX_US = 1 << 28  # ticks_us deadlines stay well inside ticks_diff's range

# Shared with the thread, small ints only:
# [0] armed: a callback falls due at [1] (ticks_us); [2] a dispatch waits in
# the scheduler; [3] a Ctrl-C landed where it could not stop the program;
# [4] stop the thread.
_st = array.array("l", [0, 0, 0, 0, 0])
# [0] set while the agent writes a message (its buffer is shared)
busy = bytearray(1)

_saved = array.array("l", [0])  # the heap-lock depth a dispatch began with
_board = None
_wall = None
_kbd = None  # called (main thread) when a Ctrl-C was swallowed
stats = array.array("l", [0, 0, 0])  # dispatches run, deferred, schedule queue full


def _loop(dispatch, sched):
    st = _st
    sleep = time.sleep_us
    while not st[4]:
        try:
            if st[2]:  # a dispatch waits in the scheduler; it re-arms when it has run
                sleep(POLL_US)
            elif st[0]:
                left = _diff(st[1], _us())
                if left <= 0:
                    st[0] = 0
                    st[2] = 1
                    try:
                        sched(dispatch, None)
                    except RuntimeError:  # the scheduler's queue is full: try again
                        st[2] = 0
                        st[1] = _add(_us(), RETRY_US)
                        st[0] = 1
                        stats[2] += 1
                    continue
                sleep(left if left < SLICE_US else SLICE_US)
            else:
                sleep(SLICE_US)
        except KeyboardInterrupt:
            # SIGINT reached this thread (the main one was stopped by the
            # CPU model when it came): have the main thread pass it on
            st[3] = 1
            st[1] = _us()
            st[0] = 1
        except Exception:  # noqa: BLE001 - the controller must not die (none is known)
            sleep(SLICE_US)


def armed():
    """Whether a callback or a scheduled function is waiting for its time."""
    return bool(_st[0] or _st[2] or _q[1])


def _arm_in(us):
    st = _st
    st[1] = _add(_us(), us)
    st[0] = 1


def arm():
    """Tell the thread when the next callback falls due. Called also by a
    callback that sets a timer's callback, with the heap locked: reading the
    wall clock allocates (a long int), so it is done as simulated hardware."""
    b = _board
    b.hw_enter()
    try:
        nxt = b.next_irq_due()
        if _st[3] or _q[1]:
            _arm_in(0)
        elif nxt is None:
            _st[0] = 0
        else:
            left = (nxt - _wall()) // 1000
            _arm_in(0 if left < 0 else (left if left < _MAX_US else _MAX_US))
    finally:
        b.hw_exit()


# micropython.schedule of the board's code: the firmware's queue of 8
# (ports/stm32/mpconfigport.h MICROPY_SCHEDULER_DEPTH), run by the dispatch
# between two bytecodes of the program, never inside the simulation, one
# function per dispatch, as the firmware runs one per pending check
# (py/scheduler.c mp_sched_run_pending).
DEPTH = 8
_q_fn = [None] * DEPTH
_q_arg = [None] * DEPTH
_q = array.array("l", [0, 0])  # first, count
_FULL = RuntimeError("schedule queue full")  # raised with the heap locked too


def schedule(fn, arg):
    """``micropython.schedule`` on the virtual board (allocates nothing)."""
    q = _q
    n = q[1]
    if n >= DEPTH:
        raise _FULL
    i = (q[0] + n) % DEPTH
    _q_fn[i] = fn
    _q_arg[i] = arg
    q[1] = n + 1
    _arm_in(0)


def _run_scheduled():
    """Run the first scheduled function, with the program's heap lock as it
    is; an exception it raises is printed and dropped (the firmware's
    ``mp_call_function_1_protected``)."""
    q = _q
    i = q[0]
    fn = _q_fn[i]
    arg = _q_arg[i]
    _q_fn[i] = None
    _q_arg[i] = None
    q[0] = (i + 1) % DEPTH
    q[1] -= 1
    try:
        _board_code(fn, arg)
    except Exception as e:  # noqa: BLE001 - printed, as the firmware's scheduler does
        _board.print_traceback(e)
    if q[1]:
        _arm_in(0)


def _dispatch(_):
    """Run on the main thread by the scheduler, between two bytecodes. All
    of it but the callbacks and scheduled functions is the simulation's
    work: inside ``hw_enter`` .. ``hw_exit``, which the CPU model does not
    charge to the board (the clock's catch-up may allocate, too)."""
    b = _board
    b.hw_enter()
    try:
        try:
            kbd = _fire_due(b)
        finally:
            b.hw_exit()
        if kbd < 0:
            return
        if kbd:
            _kbd()
        if _q[1]:
            _run_scheduled()
    except KeyboardInterrupt:
        # The unix port raises Ctrl-C's KeyboardInterrupt at whatever runs
        # when SIGINT comes; the scheduler would print and drop it here.
        # The supervisor sends it again (pyb_sim.vboard, message K).
        _restore(b)
        _kbd()


def _fire_due(b):
    # -1: the main program is inside the simulation (a simulated
    # peripheral's call, another callback, or the agent's message writer):
    # nothing runs there, the thread asks again RETRY_US later. Else the
    # callbacks that fell due have run; 1: a Ctrl-C waits to be sent again.
    st = _st
    st[2] = 0
    if b._hw_sp > 1 or b.irq_depth or busy[0]:
        stats[1] += 1
        _arm_in(RETRY_US)
        return -1
    _saved[0] = b._relock[0]  # the program's heap-lock depth, which hw_enter undid
    kbd = st[3]
    st[3] = 0
    stats[0] += 1
    b.advance_to(_wall())
    arm()
    return kbd


def _restore(b):
    # a KeyboardInterrupt inside hw_enter/hw_exit or run_irq may leave their
    # bookkeeping half done: the dispatch began outside the simulation
    b.irq_depth = 0
    b._hw_sp = 0
    micropython.heap_lock()
    depth = micropython.heap_unlock()
    while depth > _saved[0]:
        depth = micropython.heap_unlock()


def _catch_up():
    b = _board
    b.hw_enter()  # reading the wall clock allocates (a long int)
    try:
        b.advance_to(_wall())
    finally:
        b.hw_exit()


def _call(fn, arg):
    fn(arg)


_board_code = _call  # runs a scheduled function of the board's (see start)


def start(board, wall, kbd, mp=micropython, counted=None, board_code=None):
    """Pre-empt the main program with ``board``'s callbacks.

    ``wall()``: the board time (ns) the wall clock has reached;
    ``kbd()``: ask for a Ctrl-C that was swallowed to be sent again;
    ``mp``: the interpreter's own ``micropython`` module (board code may
    see one whose ``schedule`` is this module's). The CPU model's
    (``pyb_sim.cpu_board``): ``counted(fn)``, the dispatch counted whole as
    the simulation's work, as a simulated call is (the interpreter's
    scheduler, C code before the call, is not counted);
    ``board_code(fn, arg)``, a scheduled function run as the board's code."""
    global _board, _wall, _kbd, _board_code
    _board = board
    _wall = wall
    _kbd = kbd
    if board_code is not None:
        _board_code = board_code
    board.on_irq_change = arm
    board.catch_up = _catch_up
    board.schedule_soft = schedule
    dispatch = _dispatch if counted is None else counted(_dispatch)
    _thread.start_new_thread(_loop, (dispatch, mp.schedule))
    arm()
