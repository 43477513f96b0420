"""The recipe's own rewards, as they were before the grounded ones replaced them as the
defaults: `extraction_recipe`, `sql_qa_recipe` (execution + the recipe's tiers),
`sql_qa_heuristic` (the recipe's four tiers only), `insights_recipe`, `push_recipe`.

They stay registered so the audit can show both side by side and the exploit bench can
show what the grounded rewards fixed (`bench/rewards.py` prints both). None of them reads
what its prompt knows beyond the star rating and the reference answer.
"""
