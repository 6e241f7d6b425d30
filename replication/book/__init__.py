"""Book: the top layer.

``chapter``  what a chapter notebook calls: data mode, banners, glue, display
``runner``   papermill execution of every chapter and the Jupyter Book build
``cli``      ``python -m replication`` (simulate, validate, check, run, build, codebook)
"""
