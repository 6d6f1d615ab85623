"""The prosecution application: commands, and the methods that apply them."""
