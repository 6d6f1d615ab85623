"""The investigation application: commands, and the methods that apply them."""
