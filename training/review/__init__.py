"""The review web app (`handoff review`): leaders read reports, sign off and promote."""
