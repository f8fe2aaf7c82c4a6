"""Mutation testing of the hidden tests (`make audit`): see ``autograder.author.audit.run``."""
