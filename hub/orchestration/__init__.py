"""Orchestration: what Airflow's DAGs call, the local Airflow home, in-process DAG runs and the demo.

One package for one concern (DESIGN.md): ``tasks`` holds the DAG task bodies (DAG files only
orchestrate), ``airflow_home`` prepares a local Airflow installation, ``airflow_run`` runs DAGs
in-process with ``dag.test()``, ``demo`` drives a synthetic township through all of them.
Nothing is imported here: DAG parsing must stay fast, and Airflow must not be imported before
its environment is prepared.
"""
