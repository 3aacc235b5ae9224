"""Captures in, observations out: the pcap and pcapng readers, live capture, the per-packet dispatcher,
TCP reassembly and the flow meter.
"""
