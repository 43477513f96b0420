"""The reward functions: pure scoring of completions for the four tasks.

types (RewardBreakdown, Reward), schema (the extraction fields), lexicon (word lists,
tokeniser), parsing (JSON/SQL extraction), extraction / sql_qa / insights / push (the
task rewards), sql_exec + sql_compare (the SQL sandbox and result comparison), routing,
registry, versions, trl_adapter, iwu (task weights), probes + probe_db (the probe bench),
cli (`tucano-audit rewards ...`). No streamlit, torch or store imports here.
"""
