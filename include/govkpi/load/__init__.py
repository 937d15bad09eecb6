"""Raw loader: COPY into raw_* tables, one transaction per batch with its audit rows."""
