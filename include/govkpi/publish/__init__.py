"""Publication: immutable ranking releases (:mod:`.release`) and the report rendered from
them (:mod:`.report`: HTML, XLSX, CSV). See docs/ranking.md, "Publication"."""
