"""Model cards, dispatch to methods, the result type and the solution checker."""
