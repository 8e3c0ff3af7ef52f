"""Store access for the control plane: one module per table family, each function taking a Connection.

Services open the transaction (``engine.begin()``) and pass the connection, so one unit of work can
span several repositories (e.g. insert a version, swap the pointer and append to the audit log).
"""
