"""Select stage: from the fetched papers and articles, what the day writes up and lists.

`papers` picks the papers to write up (filters, "covered earlier", the cap); the modules beside it
rank and group without calling a model themselves.
"""
