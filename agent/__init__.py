"""The tools agent (``agent.graph:graph``) and the scenario graphs (``agent.scenario_graphs``)."""
