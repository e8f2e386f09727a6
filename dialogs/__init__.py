"""Stage-by-stage dialogs: pure functions that decide what to ask, store and do next."""
