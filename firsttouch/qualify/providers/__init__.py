"""Fact sources behind one interface: each looks up a key, returns facts.

Offline sources (the email address, the job title, the company directory)
answer at once; network sources (DNS, the website, a paid API) are bounded
by their own timeouts and by the enrichment budget, and are off unless the
workspace turns them on.
"""
