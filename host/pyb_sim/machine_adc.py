"""``machine.ADC`` of the simulated PyBoard (re-exported by pyb_sim.machine)."""

from pyb_sim import pins, pyb

# Turning ADC1 on: mp_hal_delay_us(ADC_STAB_DELAY_US + 1), the STM32F4 HAL's
# ADC_STAB_DELAY_US being 3 (machine_adc.c adc_stabilisation_delay_us)
ADC_ON_NS = 4000


class ADC:
    """ADC(pin or channel); read_u16 scales the 12-bit reading to 16 bits as
    machine_adc.c does (raw << 4 | raw >> 8)."""

    CORE_VREF = 256
    CORE_TEMP = 257
    CORE_VBAT = 258
    VREF = 0xFFFF

    def __init__(self, src):
        if isinstance(src, int):
            ch = {256: 17, 257: 16, 258: 18}.get(src, src)
            self._a = None if src == 0xFFFF else pyb.ADC(ch)
            return
        cpu = pins.cpu_name(src)
        if cpu not in pins.ADC_CHANNELS:
            raise ValueError("Pin(%s) does not have ADC capabilities" % cpu)
        self._a = pyb.ADC(cpu)

    def read_u16(self):
        """One conversion scaled to 16 bits. The firmware leaves the ADC on
        (ports/stm32/machine_adc.c adc_config_channel: it turns ADC1 on, and
        waits ADC_STAB_DELAY_US + 1 = 4 us, only if it is off; adc_read_channel
        starts the conversion and reads it). Safe in an interrupt handler."""
        a = self._a
        if a is None:
            return 0xFFFF
        b = pyb.board
        raw = b.adc_raw_fixed(a._cpu) if b.adc_on else -1
        if raw < 0:
            raw = self._convert()
        return raw << 4 | raw >> 8

    def _convert(self):
        # (apart from read_u16, whose frame then fits the C stack: py/objfun.c
        # puts a frame of more than 11 slots on the heap)
        a = self._a
        b = pyb.board
        b.hw_enter()
        try:
            raw = a._raw()
            b.keep_fixed(a._cpu, raw)
            if not b.adc_on:
                b.adc_on = True
                if b.charge is not None:
                    b.charge(ADC_ON_NS)
        finally:
            b.hw_exit()
        return raw
