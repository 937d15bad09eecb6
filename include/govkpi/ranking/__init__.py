"""Rankings: methodologies as data (docs/ranking.md).

:mod:`govkpi.ranking.methodology` loads and validates a methodology file and stores it in the
``ranking_config`` schema, which the dbt ranking models read.
"""
