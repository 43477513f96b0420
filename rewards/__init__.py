"""The reward functions: pure scoring of completions for the four tasks.

types (RewardBreakdown, Reward, capped), schema (the extraction fields), lexicon (word
lists, tokeniser), text (language, repetition, copies, placeholders), figures (numbers
read the Brazilian way), parsing (JSON) and sql_extract (SQL), the grounded task rewards
extraction / sql_qa / insights / push and the recipe's in recipe/, sql_exec + sql_compare
(the SQL sandbox and result comparison), routing, registry, versions, trl_adapter, iwu
(task weights), probes + probe_cases + probe_db (the probe bench), exploits +
exploit_families + exemplars (the exploit bench). No streamlit, torch or store imports here.
"""
