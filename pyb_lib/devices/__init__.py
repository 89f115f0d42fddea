"""Drivers for chips wired to the PyBoard, built on pyb_lib."""
