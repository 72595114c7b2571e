"""Documents for people outside the software: the DPIA (HTML, PDF) and the subject-access
export (HTML). Rendering only: the contents come from the services."""
