"""Written records of cases: the procedures' forms, the case record and chronology, audit export and retention."""
