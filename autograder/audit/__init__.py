"""Mutation testing of the hidden tests (`make audit`): see ``autograder.audit.run``."""
