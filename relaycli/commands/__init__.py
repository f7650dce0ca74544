"""One module per command. Each keeps heavy imports inside the command body."""
