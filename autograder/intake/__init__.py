"""Intake: reading what students hand in, safely (files, zips, names).

Every submission file is read through ``reader`` (regular files only, a size cap, a JSON
depth limit, encodings detected); a .zip of submissions is unpacked by ``unzip`` (streamed,
with a running byte count); ``names`` turns folder names into student ids that are safe to
store and to show, and summarises the inputs that were ignored.
"""
