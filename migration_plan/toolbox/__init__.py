"""The operations toolbox: what runs a stack and exercises it, beside the plan that migrates it.

``supervisor`` runs the processes of a stack (`strangler up`); ``drills`` rolls a route back under load
and measures it; ``soak`` keeps a stack busy for minutes with flips and restarts; ``load`` runs locust.
None of them imports the plan engine or the command line.
"""
