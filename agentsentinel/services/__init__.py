"""Use cases. Services ``flush()``, never ``commit()``: the request owns the transaction."""
