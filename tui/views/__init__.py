"""Pure functions that turn ledger results into plain rows for the widgets.

Nothing here touches the database or Textual: screens call the ledger core in worker threads, pass
what they read through these functions and post the plain results to their widgets, so every
formatting, filtering and layout rule is testable without an app.
"""
