"""PyBoard v1.1 pin and peripheral map.

Sources (MicroPython firmware):
- ports/stm32/boards/PYBV11/pins.csv: board pin names -> CPU pins.
- ports/stm32/boards/PYBV11/mpconfigboard.h: UART/I2C/SPI buses, their
  names ("XA", "X", ...) and pins.
- ports/stm32/boards/stm32f405_af.csv: ADC channels of each CPU pin.
"""

BOARD_PINS = {
    "X1": "A0", "X2": "A1", "X3": "A2", "X4": "A3", "X5": "A4", "X6": "A5",
    "X7": "A6", "X8": "A7", "X9": "B6", "X10": "B7", "X11": "C4", "X12": "C5",
    "X17": "B3", "X18": "C13", "X19": "C0", "X20": "C1", "X21": "C2", "X22": "C3",
    "Y1": "C6", "Y2": "C7", "Y3": "B8", "Y4": "B9", "Y5": "B12", "Y6": "B13",
    "Y7": "B14", "Y8": "B15", "Y9": "B10", "Y10": "B11", "Y11": "B0", "Y12": "B1",
    "SW": "B3", "LED_RED": "A13", "LED_GREEN": "A14", "LED_YELLOW": "A15",
    "LED_BLUE": "B4", "MMA_INT": "B2", "MMA_AVDD": "B5", "SD_D0": "C8",
    "SD_D1": "C9", "SD_D2": "C10", "SD_D3": "C11", "SD_CMD": "D2", "SD_CK": "C12",
    "SD": "A8", "SD_SW": "A8", "USB_VBUS": "A9", "USB_ID": "A10", "USB_DM": "A11",
    "USB_DP": "A12",
}

# ADC1 channel of each CPU pin that has one (stm32f405_af.csv, column ADC).
ADC_CHANNELS = {
    "A0": 0, "A1": 1, "A2": 2, "A3": 3, "A4": 4, "A5": 5, "A6": 6, "A7": 7,
    "B0": 8, "B1": 9, "C0": 10, "C1": 11, "C2": 12, "C3": 13, "C4": 14, "C5": 15,
}
ADC_CHANNEL_TEMP = 16
ADC_CHANNEL_VREFINT = 17
ADC_CHANNEL_VBAT = 18

DAC_PINS = {"A4": 1, "A5": 2}  # DAC1 on X5, DAC2 on X6

UART_NAMES = {"XA": 4, "XB": 1, "YA": 6, "YB": 3}
UART_BUSES = (1, 2, 3, 4, 6)
UART_PINS = {1: ("B6", "B7"), 2: ("A2", "A3"), 3: ("B10", "B11"), 4: ("A0", "A1"), 6: ("C6", "C7")}
I2C_NAMES = {"X": 1, "Y": 2}
I2C_PINS = {1: ("B6", "B7"), 2: ("B10", "B11")}  # (SCL, SDA)
SPI_NAMES = {"X": 1, "Y": 2}
SPI_PINS = {1: ("A4", "A5", "A6", "A7"), 2: ("B12", "B13", "B14", "B15")}  # NSS SCK MISO MOSI

_CPU_PINS = {}
for _port in "ABCD":
    for _n in range(16):
        _CPU_PINS[_port + str(_n)] = True


def cpu_name(pin):
    """CPU name ("A4") of a pin given as board name, CPU name or Pin object."""
    if not isinstance(pin, str):
        name = getattr(pin, "_cpu", None)
        if name is None:
            raise TypeError("expecting a pin")
        return name
    if pin in BOARD_PINS:
        return BOARD_PINS[pin]
    if pin in _CPU_PINS:
        return pin
    if pin.startswith("P") and pin[1:] in _CPU_PINS:
        return pin[1:]
    raise ValueError("Pin(%s) doesn't exist" % pin)


def board_names(cpu):
    return [name for name, c in BOARD_PINS.items() if c == cpu]


def exti_line(cpu):
    return int(cpu[1:])


def dac_channel(cpu):
    return DAC_PINS.get(cpu, 0)


def _bus_id(kind, bus, names, valid):
    if isinstance(bus, str):
        if bus in names:
            return names[bus]
        raise ValueError("%s(%s) doesn't exist" % (kind, bus))
    if not isinstance(bus, int):
        raise TypeError("can't convert %s to int" % type(bus).__name__)
    if bus not in valid:
        raise ValueError("%s(%d) doesn't exist" % (kind, bus))
    return bus


def uart_bus_id(bus):
    return _bus_id("UART", bus, UART_NAMES, UART_BUSES)


def i2c_bus_id(bus):
    return _bus_id("I2C", bus, I2C_NAMES, (1, 2))


def spi_bus_id(bus):
    return _bus_id("SPI", bus, SPI_NAMES, (1, 2))
