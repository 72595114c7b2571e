"""Running a whole site in one process: web app, gate lanes, incident engine, devices."""
