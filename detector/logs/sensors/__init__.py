"""Sensor logs: Zeek (zeek.py, zeek_paths.py) and Suricata EVE (eve.py), traffic another tool already dissected.

What the two say alike is mapped to observations once, in mapping.py.
"""
