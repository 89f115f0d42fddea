"""Milliseconds and delays for the chip drivers: ``pyb``'s on a PyBoard,
``time``'s on a board without ``pyb`` (ESP32, RP2040, ...), where the
drivers take a ``machine.I2C`` / ``machine.SPI`` bus."""

try:
    from pyb import delay, elapsed_millis, millis, udelay
except ImportError:
    from time import sleep_ms as delay
    from time import sleep_us as udelay
    from time import ticks_diff
    from time import ticks_ms as millis  # type: ignore[assignment]

    def elapsed_millis(start):  # type: ignore[misc]
        """Milliseconds since ``start`` (a ``millis()`` value)."""
        return ticks_diff(millis(), start)


__all__ = ["delay", "elapsed_millis", "millis", "udelay"]
