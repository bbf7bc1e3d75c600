"""Engine build, configuration and the `suban` command that runs the stack."""
