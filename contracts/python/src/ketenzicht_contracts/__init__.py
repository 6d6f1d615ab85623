"""Wire contracts of ketenzicht: event payloads, the envelope, and the generated gRPC code.

The protobuf-generated modules live in the ``ketenzicht`` namespace package next to this one;
they are produced by ``make gen`` and never edited by hand.
"""
