"""The support assistant: grounded answers from the store's help pages and catalog.

- ``text``       search tokens (English words, Chinese words by jieba), sentences, language
- ``knowledge``  passages from pages, FAQ pairs and products; the hybrid index and its upkeep
- ``retrieve``   BM25 + embeddings fused by reciprocal rank; follow-up questions rewritten
- ``intents``    the intent classifier (Bitext's 27 intents and product questions), confidence
- ``guard``      personal data masked, injections recognised, answers checked for leaks
- ``handover``   when a person takes over, and why
- ``tools``      verified order look-up, requests queued for a person
- ``answer``     extractive or language-model answers, every sentence traced to a passage
- ``assistant``  one turn of a conversation, stored
"""
