"""The stages of :func:`replication.data.validate_panel`, one module each.

:mod:`.cells` reads cell values and words the messages; :mod:`.columns` maps the file's
headers to the codebook; :mod:`.keys` checks years and keys, with :mod:`.cities`
resolving city codes and names; :mod:`.values` checks numbers, declared scales, unit
slips and bounds; :mod:`.policy` checks the policy timing and derives ``treat``,
``did`` and ``broadband``; :mod:`.gaps` reports balance and interpolates short
interior gaps; :mod:`.real_facts` adds the real facts the file lacks.  Each stage appends
its errors, warnings and repairs to the :class:`~replication.data.report.ValidationReport`.
"""
