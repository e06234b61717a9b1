"""One module per messaging provider; ``base`` is the contract they all keep."""
