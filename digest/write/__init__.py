"""Write stage: turns papers and articles into LLM-written sections (papers.py per paper, topics.py
per topic, overview.py for the day), each through the checks of grounding.py (does a paper's
write-up describe that paper, with its figures) and gate.py (no instructions echoed from the input);
triage.py ranks candidates with a cheap model; section.py runs one prompt into one Section.
"""
