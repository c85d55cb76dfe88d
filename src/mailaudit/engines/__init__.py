"""Engines that run the same per-message audit somewhere other than this process's pool.

``dask``: shards of the input (files, Maildir folders, byte ranges of large mboxes) as tasks
on a Dask cluster; workers open inputs by path (the ``dask`` extra).
"""
