"""The regional hub (issue 7): one board for every school, mediators dispatched.

Its own application and database. It receives events from the sites through the
protocol of :mod:`seuil.domain.hub` and never any biometric or personal datum.
"""
