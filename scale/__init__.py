"""Scale-out on Ray: ``clinqa ingest --ray`` (scale.ingest), ``clinqa eval --ray`` (scale.eval).

Everything Ray lives in this package (the ``scale`` extra installs it). The store keeps one writer: the
driver process; Ray only runs the work that does not write (extraction, chunking, embedding, answering).
"""
