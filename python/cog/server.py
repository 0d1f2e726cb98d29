"""Runtime flags; ``active`` is True inside the cog worker process."""

active = False
