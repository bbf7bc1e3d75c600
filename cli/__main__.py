"""`python -m cli`: the `suban` command line (how `suban up` starts workers and console)."""
from cli import main

main(prog_name="suban")
