"""Network-accelerator co-search (``hwgen cosearch``)."""
