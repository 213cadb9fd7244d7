"""One module per wizard page; each edits one part of the Recipe."""
