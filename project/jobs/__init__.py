"""The job framework: infrastructure every app builds its long work on (see registry.py, lifecycle.py).

Kept empty: Django imports this package while it loads apps, before any model may be imported.
"""
