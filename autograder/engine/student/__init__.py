"""The untrusted side: the template process and the sandboxes that run student code."""
