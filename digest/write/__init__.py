"""Write stage: turns papers and articles into LLM-written sections (per paper, per topic, overview)."""
