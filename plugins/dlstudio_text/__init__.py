"""dlstudio's text plugin: tokens, vocabularies, embeddings, sentiment classifiers and a language model that
writes (the book's chapter 6 and the language model of chapter 7), built on the plugin contract alone."""
